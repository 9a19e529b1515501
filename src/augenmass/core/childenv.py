"""The environment a plugin or helper program is started with.

A clean one, not the server's: the server's environment may hold secrets (`${ENV}` references
in the config). Used by the plugin runner and by probes that start a program (mailqueue).
"""

from __future__ import annotations

import os

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


def plugin_env() -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", DEFAULT_PATH), "LANG": "C", "LC_ALL": "C"}
    for name in ("HOME", "USER", "LOGNAME", "TZ"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env
