#!/bin/sh
# Creates the snmpsim venv the SNMP tests serve their recordings from, if it is missing.
# snmpsim must run from a venv of Debian's /usr/bin/python3: it drops privileges when started as
# root and then imports lazily, so its interpreter must be world-readable (a Python under a 0700
# home fails with "no dbm clone found"). pysmi is needed by snmpsim 1.2 but not declared by it;
# cryptography gives pysnmp its DES/AES ciphers (SNMPv3 authPriv).
# Usage: tests/probes/snmp/snmpsim_env.sh   (SNMPSIM_VENV overrides the path; default
# .venv-snmpsim in the repository root, which .gitignore keeps out of git)
set -eu
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
VENV=${SNMPSIM_VENV:-$ROOT/.venv-snmpsim}
if [ -x "$VENV/bin/snmpsim-command-responder" ] &&
    "$VENV/bin/python" -c "import snmpsim, pysmi, pysnmp, cryptography" 2>/dev/null; then
    exit 0
fi
if ! /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null; then
    SUDO=$( [ "$(id -u)" = 0 ] || echo sudo )
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv
fi
/usr/bin/python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet 'snmpsim>=1.2,<2' 'pysnmp>=7.1,<8' 'pysmi>=1.5' cryptography
# the responder drops to nobody; it must be able to read (not write) the venv
chmod -R a+rX "$VENV"
"$VENV/bin/python" -c "import snmpsim, pysmi, pysnmp, cryptography"
echo "snmpsim ready in $VENV"
