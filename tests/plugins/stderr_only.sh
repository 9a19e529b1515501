#!/bin/sh
# Writes to stderr; with $1 = both also to stdout.
if [ "$1" = both ]; then
  echo "OK - fine | t=1s"
fi
echo "something went wrong" >&2
exit 2
