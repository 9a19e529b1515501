#!/bin/sh
# 10 MB on the stream named in $1 (stdout or stderr), then a normal exit.
if [ "$1" = stderr ]; then
  yes 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' | head -c 10485760 >&2
else
  yes 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' | head -c 10485760
fi
exit 0
