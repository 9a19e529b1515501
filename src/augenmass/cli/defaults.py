"""Defaults and option types the command groups share (environment first, then the
development defaults that `make run` uses)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_CONFIG = Path(os.environ.get("AUGENMASS_CONFIG", "examples/config"))
DEFAULT_DATA = Path(os.environ.get("AUGENMASS_DATA", "var"))
DEFAULT_LISTEN = os.environ.get("AUGENMASS_LISTEN", "127.0.0.1:8080")

# readable=False: click's own check of the path would end in a box and exit 2; the config loader
# and the data directory's checks say what is wrong in one line (exit 2 is for configurations).
ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", help="YAML file or directory", readable=False)
]
DataOpt = Annotated[
    Path, typer.Option("--data", "-d", help="data directory (SQLite store)", readable=False)
]
