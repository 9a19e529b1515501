#!/bin/sh
# Double fork: the grandchild is re-parented away from the plugin but stays in its process group.
( ( exec sleep 60 </dev/null >/dev/null 2>&1 ) & echo $! > "$1" ) &
wait
echo "OK - daemon started"
exit 0
