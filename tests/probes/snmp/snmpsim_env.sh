#!/bin/sh
# Creates the snmpsim venv the SNMP tests serve their recordings from, if it is missing.
# snmpsim must run from a venv of Debian's /usr/bin/python3: it drops privileges when started as
# root and then imports lazily, so its interpreter must be world-readable (a Python under a 0700
# home fails with "no dbm clone found"). What it installs is pinned with hashes in
# requirements/snmpsim.lock (made by `make lock`); a venv made from an older lock is remade.
# Usage: tests/probes/snmp/snmpsim_env.sh   (SNMPSIM_VENV overrides the path; default
# .venv-snmpsim in the repository root, which .gitignore keeps out of git)
set -eu
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
VENV=${SNMPSIM_VENV:-$ROOT/.venv-snmpsim}
LOCK=$ROOT/requirements/snmpsim.lock
if [ -x "$VENV/bin/snmpsim-command-responder" ] && cmp -s "$LOCK" "$VENV/snmpsim.lock" &&
    "$VENV/bin/python" -c "import snmpsim, pysmi, pysnmp, cryptography" 2>/dev/null; then
    exit 0
fi
if ! /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null; then
    SUDO=$( [ "$(id -u)" = 0 ] || echo sudo )
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv
fi
/usr/bin/python3 -m venv --clear "$VENV"
"$VENV/bin/pip" install --quiet --require-hashes -r "$LOCK"
cp "$LOCK" "$VENV/snmpsim.lock"
# the responder drops to nobody; it must be able to read (not write) the venv
chmod -R a+rX "$VENV"
"$VENV/bin/python" -c "import snmpsim, pysmi, pysnmp, cryptography"
echo "snmpsim ready in $VENV"
