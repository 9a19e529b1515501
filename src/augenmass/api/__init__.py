"""The HTTP side: FastAPI app (JSON API, /metrics), users, sessions, API tokens, audit log."""
