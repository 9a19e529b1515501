#!/bin/sh
# Hangs. With $1 = ignore-term it also ignores SIGTERM (inherited by its sleep), so only SIGKILL works.
if [ "$1" = ignore-term ]; then
  trap '' TERM
fi
echo "hanging"
while :; do sleep 1; done
