"""The whole site the server serves: the JSON API with the web UI's pages beside it.

Composed here, above both, so that the API knows nothing of the UI (the UI uses the API's
auth and actions, never the other way round).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.exceptions import HTTPException

from augenmass.api.app import create_app
from augenmass.control import ServerControl
from augenmass.web.errors import http_error
from augenmass.web.routes import router


def create_site(control: ServerControl) -> FastAPI:
    app = create_app(control)
    app.include_router(router)
    app.add_exception_handler(HTTPException, http_error)
    return app
