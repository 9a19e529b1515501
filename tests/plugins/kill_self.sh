#!/bin/sh
# Dies from the signal named in $1 (e.g. SEGV), as a crashing plugin would.
echo "about to die"
kill -s "$1" $$
sleep 5
