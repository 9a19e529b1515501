"""The one error an operator action raises, with the HTTP status that fits it."""

from __future__ import annotations


class ActionError(Exception):
    """404 unknown object, 409 nothing to do, 422 impossible values, 503 store too slow."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
