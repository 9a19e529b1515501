"""The web UI: pages, public status page, availability reports (see routes.py)."""
