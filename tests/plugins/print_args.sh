#!/bin/sh
# Prints its argument count, then each argument on its own line between [ and ].
echo "OK - $# args"
for a in "$@"; do
  printf '[%s]\n' "$a"
done
