#!/usr/bin/env bash
# Usage: leftovers.sh RUN_ID — lists the processes whose environment carries IDESK_TEST_RUN=RUN_ID
# (other than this script and its ancestors), stops them, and fails if there were any.
set -uo pipefail
marker="IDESK_TEST_RUN=$1"
# This script and the processes that started it carry the marker too.
declare -A mine=()
p=$$
while [ -n "$p" ] && [ "$p" != 0 ]; do
  mine[$p]=1
  p=$(awk '/^PPid:/ {print $2}' "/proc/$p/status" 2>/dev/null)
done
left=()
for dir in /proc/[0-9]*; do
  pid=${dir#/proc/}
  [ -n "${mine[$pid]:-}" ] && continue
  # Read with builtins only: a helper process would carry the marker itself.
  # (Kernel threads and processes gone meanwhile have no readable environment: skipped quietly.)
  { mapfile -d '' env < "$dir/environ"; } 2>/dev/null || continue
  for kv in "${env[@]}"; do
    if [ "$kv" = "$marker" ]; then left+=("$pid"); break; fi
  done
done
# Drop any pid gone by now.
alive=()
for pid in "${left[@]}"; do [ -d "/proc/$pid" ] && alive+=("$pid"); done
if [ ${#alive[@]} -eq 0 ]; then
  echo "leftovers: nothing the tests started is still running"
  exit 0
fi
echo "leftovers: ${#alive[@]} processes the tests started are still running:" >&2
for pid in "${alive[@]}"; do
  printf '  %s %s\n' "$pid" "$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | cut -c1-120)" >&2
done
kill "${alive[@]}" 2>/dev/null
sleep 1
kill -9 "${alive[@]}" 2>/dev/null
exit 1
