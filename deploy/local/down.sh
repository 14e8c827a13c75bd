#!/usr/bin/env bash
# Stops the processes deploy/local/up.sh started: exactly the PIDs in STATE_DIR/*.pid, each only if it is still
# an `sds` process (a recycled PID is left alone). SIGTERM first, SIGKILL after 10 s. Removes the PID files;
# keeps data and logs. A PID that already exited (e.g. a storage node killed in a test) is skipped quietly. Usage: deploy/local/down.sh STATE_DIR
set -uo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 STATE_DIR" >&2
  exit 2
fi
state=$1
shopt -s nullglob
pids=()
for file in "$state"/*.pid; do
  pid=$(<"$file")
  if [[ $pid =~ ^[0-9]+$ ]] && { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -q 'sds\.dll'; then
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  fi
  rm -f "$file"
done
for _ in $(seq 100); do
  alive=()
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
  (( ${#alive[@]} == 0 )) && exit 0
  sleep 0.1
done
for pid in "${alive[@]}"; do kill -KILL "$pid" 2>/dev/null; done
exit 0
