#!/usr/bin/env bash
# Starts a local SdsTarget cluster on 127.0.0.1 (DESIGN.md §7): 3 `sds meta` + 3 `sds storage` + 2 `sds gateway`
# processes on free ports, creates the demo volume (1 GiB, 512-byte blocks, replicas 3), target
# iqn.2026-11.io.sds:demo and its LUN 0, waits until iscsi-inq answers through both gateways, then prints, one
# per line: the demo LUN's URL through gateway 1, through gateway 2, and the management API addresses (`--api`).
# Every process's PID is in STATE_DIR/<role>-<id>.pid; its output in STATE_DIR/<role>-<id>.log.
# Usage: deploy/local/up.sh STATE_DIR      (stop with deploy/local/down.sh STATE_DIR)
# Environment: SDS_DLL (default: cli/bin/Release/net10.0/sds.dll of this checkout), SDS_UP_TIMEOUT (s, 180),
# SDS_NODE_DOWN_MS / SDS_NODE_OUT_MS (meta's grace periods for a silent storage node, ms; 2000 / 6000).
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 STATE_DIR" >&2
  exit 2
fi
state=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
sds_dll=${SDS_DLL:-$root/cli/bin/Release/net10.0/sds.dll}
timeout_s=${SDS_UP_TIMEOUT:-180}
iqn=iqn.2026-11.io.sds:demo
pgs=64
# The storage block is the volumes' logical block (gateway/Block/README.md). 512 like the single-process demo
# LU: libiscsi's test suite assumes 512-byte blocks in several tests, and QEMU 7.2 mishandles some 4 KiB LUs.
block=512
down_ms=${SDS_NODE_DOWN_MS:-2000}
out_ms=${SDS_NODE_OUT_MS:-6000}

if [[ ! -f $sds_dll ]]; then
  echo "up.sh: $sds_dll not found; build first: dotnet build -c Release cli/Sds.Cli.csproj" >&2
  exit 1
fi
command -v iscsi-inq >/dev/null || { echo "up.sh: iscsi-inq not found (apt-get install libiscsi-bin)" >&2; exit 1; }
mkdir -p "$state"
if compgen -G "$state/*.pid" >/dev/null; then
  echo "up.sh: $state already has PID files; run down.sh $state first" >&2
  exit 1
fi
state=$(cd "$state" && pwd)

# Free loopback ports, drawn at random below the kernel's ephemeral range (where outgoing
# connections take their source ports, so nothing else on the machine takes one between our
# check and the process's bind), each checked bindable. Eight distinct ones in one go.
mapfile -t ports < <(python3 - <<'PY'
import random, socket
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
high = min(low, 32768)
first, high = (high - 12000, high) if high - 12000 >= 10000 else (10000, 22000)
chosen = []
while len(chosen) < 8:
    port = random.randrange(first, high)
    if port in chosen:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    chosen.append(port)
print("\n".join(map(str, chosen)))
PY
)
meta_peers="1=127.0.0.1:${ports[0]},2=127.0.0.1:${ports[1]},3=127.0.0.1:${ports[2]}"
meta_api="127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}"
gateway_ports=("${ports[6]}" "${ports[7]}")

# Job control on: a non-interactive shell starts background jobs with SIGQUIT ignored, and .NET then never sees it
# (SIGQUIT makes `sds storage` and `sds server` print their state without stopping).
set -m
start() { # start ROLE ID ARGS...: runs `sds ROLE ARGS` in the background, PID to ROLE-ID.pid
  local role=$1 id=$2
  shift 2
  nohup dotnet "$sds_dll" "$role" "$@" >"$state/$role-$id.log" 2>&1 &
  echo $! >"$state/$role-$id.pid"
}

fail() {
  echo "up.sh: $*" >&2
  for log in "$state"/*.log; do echo "--- $log" >&2; tail -n 5 "$log" >&2; done
  "$here/down.sh" "$state" >&2 || true
  exit 1
}

deadline=$((SECONDS + timeout_s))
# Meta owns placement (DESIGN.md §4): it sets the PG count and default replicas when the cluster is first
# initialized, places PG members over the up storage nodes, and after the grace periods replaces a dead one.
# A demo's grace is short so a kill -9 is seen at once: DOWN after SDS_NODE_DOWN_MS (default 2 s) of silence,
# OUT (its copies rebuilt on the other nodes, when there are enough) after SDS_NODE_OUT_MS (default 6 s).
# Production defaults are 10 s and 10 min (`sds meta --help`): a reboot should not trigger a full rebuild.
for id in 1 2 3; do
  start meta "$id" --id "$id" --peers "$meta_peers" --data "$state/meta-$id" --replicas 3 --pg-count "$pgs" \
    --node-down-ms "$down_ms" --node-out-ms "$out_ms"
done
# Storage nodes register with meta as storage-1..3 and follow its placement (no static --peers).
for id in 1 2 3; do
  start storage "$id" --id "$id" --listen "127.0.0.1:${ports[$((id + 2))]}" --data "$state/storage-$id" \
    --block-size "$block" --meta "$meta_api"
done

sds() { dotnet "$sds_dll" "$@" --api "$meta_api" --timeout 20; }
until sds status >/dev/null 2>&1; do
  (( SECONDS < deadline )) || fail "meta did not elect a leader in ${timeout_s}s"
  sleep 0.5
done
sds volume create demo --size 1GiB --block-size "$block" --replicas 3 >/dev/null || fail "volume create failed"
sds target create "$iqn" --alias sds-demo --removable >/dev/null || fail "target create failed"
sds lun map "$iqn" 0 demo >/dev/null || fail "lun map failed"

for id in 1 2; do
  start gateway "$id" --id "gateway-$id" --meta "$meta_api" --portal "127.0.0.1:${gateway_ports[$((id - 1))]}" \
    --block-size "$block" --data "$state/gateway-$id"
done

urls=()
for id in 1 2; do
  url="iscsi://127.0.0.1:${gateway_ports[$((id - 1))]}/$iqn/0"
  until iscsi-inq "$url" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || fail "gateway $id did not answer iscsi-inq on $url in ${timeout_s}s"
    sleep 0.5
  done
  urls+=("$url")
done

printf '%s\n' "${urls[@]}"
# Every meta member: an admin call given a single follower does not reach the leader today (see docs/decisions.md).
echo "$meta_api"
