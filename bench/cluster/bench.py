#!/usr/bin/env python3
"""The whole system against Linux tgt, in one run (issue #7): the local cluster (deploy/local: 3 meta,
3 storage with replicas=3, 2 gateways; measured through gateway 1), the all-in-one `sds server --demo`, and
tgt, all on 127.0.0.1, through the same initiators and workloads as bench/iscsi/bench.py (fio over qemu-nbd,
iscsi-perf), interleaved so load swings hit every side. Prints the table twice (cluster/tgt and
server/tgt ratios), then each process's peak RSS (VmHWM) and CPU seconds (utime+stime) at the end.

Usage: bench/cluster/bench.py [--seconds N] [--repeat N] [--workloads a,b] [--json FILE]
Every process it starts is stopped by PID (the cluster by deploy/local/down.sh, which uses its PID files).
"""
import argparse
import glob
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
_spec = importlib.util.spec_from_file_location("iscsi_bench", os.path.join(ROOT, "bench", "iscsi", "bench.py"))
ib = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ib)


def cluster_up(state):
    """deploy/local/up.sh; returns (gateway URLs, API address)."""
    out = subprocess.run(["bash", os.path.join(ROOT, "deploy", "local", "up.sh"), state],
                         check=True, capture_output=True, text=True, timeout=600).stdout.split()
    return [l for l in out if l.startswith("iscsi://")], out[-1]


def cluster_down(state):
    subprocess.run(["bash", os.path.join(ROOT, "deploy", "local", "down.sh"), state], timeout=120)


def cluster_pids(state):
    pids = {}
    for path in sorted(glob.glob(os.path.join(state, "*.pid"))):
        pids[os.path.basename(path)[:-4]] = int(open(path).read().strip())
    return pids


def usage(pid):
    """(peak RSS MiB, CPU seconds) of a live process from /proc."""
    hwm = 0
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return hwm, (int(fields[11]) + int(fields[12])) / ticks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", "10")))
    ap.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", "1")))
    ap.add_argument("--workloads", help="comma-separated subset of workload names")
    ap.add_argument("--json")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    for tool in ("fio", "qemu-nbd", "iscsi-perf", "tgtd", "tgtadm", "dotnet", "iscsi-inq"):
        if not shutil.which(tool):
            raise SystemExit(f"bench: {tool} not found (deploy/install-deps.sh)")
    if not args.no_build:
        subprocess.run(["dotnet", "build", "-c", "Release", "-v", "q", "--nologo",
                        os.path.join(ROOT, "cli", "Sds.Cli.csproj")], check=True)
    procs = ib.Processes()
    work = tempfile.mkdtemp(prefix="sds-bench-cluster-")
    state = os.path.join(work, "cluster")
    results, resources = {}, []
    try:
        urls = {}
        gateways, _api = cluster_up(state)
        urls["cluster"] = gateways[0]
        server, urls["server"] = ib.start_sds(procs, work, [])
        tgt, urls["tgt"] = ib.start_tgt(procs, work)
        wanted = set(args.workloads.split(",")) if args.workloads else None
        results = ib.measure_interleaved(procs, work, urls, args.seconds, args.repeat, wanted)
        for name, pid in cluster_pids(state).items():
            resources.append((f"cluster {name}", *usage(pid)))
        resources.append(("server (all-in-one)", *usage(server.pid)))
        resources.append(("tgtd", *usage(tgt.pid)))
    finally:
        procs.stop_all()
        cluster_down(state)
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {args.seconds}s per run, repeat {args.repeat} "
          f"(median), load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, {os.cpu_count()} CPUs")
    print("# cluster = deploy/local (replicas=3, every write synced on a quorum before GOOD), through gateway 1;")
    print("# server = sds server --demo; tgt = Linux tgt on a sparse file (page cache). fio qd32 rows reach the")
    print("# target as QD16 (qemu-nbd); iscsi-perf is true QD32.")
    print("\n## cluster vs tgt")
    ib.print_table(results.get("cluster"), results.get("tgt"))
    print("\n## server vs tgt")
    ib.print_table(results.get("server"), results.get("tgt"))
    print("\n## processes at the end of the run")
    print(f"{'process':<28}{'peak RSS MiB':>14}{'CPU s':>10}")
    for name, rss, cpu in resources:
        print(f"{name:<28}{rss:>14.0f}{cpu:>10.1f}")
    if args.json:
        json.dump({"results": results, "resources": resources, "seconds": args.seconds, "loadavg": load},
                  open(args.json, "w"), indent=2)


if __name__ == "__main__":
    main()
