"""The `augenmass` command's entry point.

`augenmass probe TYPE ...` is first offered to a resident probe server (cli/probeclient.py):
Nagios runs a plugin per check, and importing the probe stack (asyncio, pydantic, the models)
costs ten times what the check itself does. Every other command goes straight to the typer app.
"""

from __future__ import annotations

import sys


def main() -> None:
    argv = sys.argv
    if len(argv) > 2 and argv[1] == "probe":
        from augenmass.cli import probeclient

        code = probeclient.call(argv[2:])
        if code is not None:
            raise SystemExit(code)
    from augenmass.cli.main import main as full

    full()
