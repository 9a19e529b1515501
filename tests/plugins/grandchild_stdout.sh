#!/bin/sh
# Leaves a background child that keeps stdout open, writes its pid to $1, then exits OK.
sleep 60 &
echo $! > "$1"
echo "OK - parent done"
exit 0
