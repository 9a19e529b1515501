#!/bin/sh
# Install augenmass as a systemd service on Debian (docs/install.md). Re-run it to upgrade:
# the user, the config and the data are kept; the venv and the unit are brought up to date.
#
#   deploy/install.sh [--root DIR] [--no-venv] [--python PYTHON]
#
# --root DIR   install into DIR instead of / (an image, a container root, a test)
# --no-venv    leave /opt/augenmass/venv alone (no Python packages installed)
# --python PY  the Python (3.11 or newer) the venv is made with (default: python3)
set -eu
# The venv must be readable by the service's user even where root's umask is 077.
umask 022

NAME=augenmass
ROOT=/
VENV_STEP=yes
PYTHON=python3
SRC=$(cd "$(dirname "$0")/.." && pwd)

usage() { sed -n '4,10s/^# \{0,1\}//p' "$0"; }
die() { echo "install.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT=$2; shift 2 ;;
    --root=*) ROOT=${1#--root=}; shift ;;
    --no-venv) VENV_STEP=no; shift ;;
    --python) [ $# -ge 2 ] || die "--python needs a program"; PYTHON=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

[ "$(id -u)" = 0 ] || die "run it as root (it creates a system user and root-owned files)"
[ -d "$ROOT" ] || die "$ROOT is not a directory"
ROOT=$(cd "$ROOT" && pwd)
P=${ROOT%/}  # prefix for every path: empty for /
[ -f "$P/etc/passwd" ] || die "$ROOT/etc/passwd is missing: not a system root"

CONFIG_DIR=/etc/$NAME
DATA_DIR=/var/lib/$NAME
VENV=/opt/$NAME/venv
UNIT_DIR=/etc/systemd/system
WRAPPER=/usr/local/bin/$NAME

step() { echo "==> $*"; }
# A system directory is created when missing, never re-moded (Debian's own modes stay).
ensure_dir() { for d in "$@"; do [ -d "$d" ] || install -d -m 0755 -o 0 -g 0 "$d"; done; }

# --- the system user and group (no login, home = the data directory) ----------------------
if grep -q "^$NAME:" "$P/etc/passwd"; then
  step "user $NAME exists"
else
  step "creating system user $NAME"
  if [ -z "$P" ]; then
    useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home \
      --shell /usr/sbin/nologin "$NAME"
  else
    useradd --prefix "$ROOT" --system --user-group --home-dir "$DATA_DIR" --no-create-home \
      --shell /usr/sbin/nologin "$NAME"
  fi
fi
# Numeric ids from the target's own files: under --root the user does not exist on this host.
USER_ID=$(awk -F: -v n="$NAME" '$1 == n { print $3 }' "$P/etc/passwd")
GROUP_ID=$(awk -F: -v n="$NAME" '$1 == n { print $3 }' "$P/etc/group")
[ -n "$USER_ID" ] && [ -n "$GROUP_ID" ] || die "user or group $NAME not found in $ROOT/etc"

# --- configuration: root's, readable by the service's group --------------------------------
step "configuration in $CONFIG_DIR"
ensure_dir "$P/etc"
install -d -m 0750 -o 0 -g "$GROUP_ID" "$P$CONFIG_DIR"
if [ -z "$(ls -A "$P$CONFIG_DIR")" ]; then
  echo "    empty: copying the example configuration (edit it: its hosts are all 127.0.0.x)"
  for f in "$SRC"/examples/config/*; do
    install -m 0640 -o 0 -g "$GROUP_ID" "$f" "$P$CONFIG_DIR/"
  done
fi

# --- data: the service's alone (database with password hashes and sessions) ---------------
step "data directory $DATA_DIR"
ensure_dir "$P/var/lib"
install -d -m 0700 -o "$USER_ID" -g "$GROUP_ID" "$P$DATA_DIR"

# --- the program: a venv from the lock file (exact, hash-checked versions) -----------------
if [ "$VENV_STEP" = yes ]; then
  step "installing into $VENV"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$PYTHON is older than 3.11"
  if [ ! -x "$P$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$P$VENV" || die "cannot make a venv (apt-get install python3-venv)"
  fi
  "$P$VENV/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
    -r "$SRC/requirements/run.lock"
  # The package itself: its dependencies came from the lock; rebuilt on every run (upgrade).
  "$P$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps \
    --no-build-isolation --force-reinstall "$SRC"
else
  step "skipping $VENV (--no-venv)"
fi

# --- the unit, and a wrapper that runs the command as the service does ---------------------
step "unit $UNIT_DIR/$NAME.service"
ensure_dir "$P$UNIT_DIR" "$P/usr/local/bin"
install -m 0644 -o 0 -g 0 "$SRC/deploy/systemd/$NAME.service" "$P$UNIT_DIR/$NAME.service"
cat > "$P$WRAPPER.tmp" <<WRAP
#!/bin/sh
# augenmass with the service's paths; started by root it runs as the $NAME user, so the files
# it creates in $DATA_DIR stay the service's (installed by deploy/install.sh).
: "\${AUGENMASS_CONFIG:=$CONFIG_DIR}" "\${AUGENMASS_DATA:=$DATA_DIR}" "\${AUGENMASS_LISTEN:=127.0.0.1:8080}"
export AUGENMASS_CONFIG AUGENMASS_DATA AUGENMASS_LISTEN
if [ "\$(id -u)" = 0 ]; then
  exec runuser -u $NAME -- $VENV/bin/$NAME "\$@"
fi
exec $VENV/bin/$NAME "\$@"
WRAP
chmod 0755 "$P$WRAPPER.tmp"
mv "$P$WRAPPER.tmp" "$P$WRAPPER"

if [ -z "$P" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
fi

cat <<NEXT

augenmass is installed. Next steps:
  1. edit the configuration in $CONFIG_DIR, then check it:
       $NAME check-config
  2. start the service now and at every boot:
       systemctl enable --now $NAME
     (after an upgrade: systemctl restart $NAME)
  3. create the first admin (the password is prompted for):
       $NAME user add admin --role admin
  4. open http://127.0.0.1:8080/ ; logs: journalctl -u $NAME -f
NEXT
