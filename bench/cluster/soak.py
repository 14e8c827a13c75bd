#!/usr/bin/env python3
"""Soak (issue #7): a mixed 4 KiB random read/write load (70/30) through BOTH gateways of the local cluster
(deploy/local) for --minutes (default 10), one qemu-nbd + fio per gateway. Every --sample seconds it records each
sds process's resident memory (VmRSS) and open file descriptors (/proc/PID/fd). After the warm-up
(--warmup minutes, default 2) it reports per process: the value at the end of warm-up, the maximum and the last
value after it, and the growth last/warm-up; exit status 1 when any process grew more than --max-growth
(default 1.25×) in memory or handles. Stops everything it started by PID.

Usage: bench/cluster/soak.py [--minutes N] [--warmup N] [--sample S] [--json FILE]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench as cb  # noqa: E402  (bench/cluster/bench.py: cluster_up/down, cluster_pids, ib)


def sample(pid):
    rss = 0
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--sample", type=float, default=10)
    ap.add_argument("--max-growth", type=float, default=1.25)
    ap.add_argument("--json")
    args = ap.parse_args()
    procs = cb.ib.Processes()
    work = tempfile.mkdtemp(prefix="sds-soak-")
    state = os.path.join(work, "cluster")
    series = {}
    try:
        gateways, _ = cb.cluster_up(state)
        pids = cb.cluster_pids(state)
        seconds = int(args.minutes * 60)
        fios = []
        for index, url in enumerate(gateways):
            port = cb.ib.free_port()
            procs.start(["qemu-nbd", "-f", "raw", "--bind", "127.0.0.1", "--port", str(port), "--persistent",
                         "--shared", "4", "--cache", "none", url], os.path.join(work, f"qemu-nbd-{index}.log"))
            cb.ib.wait_port(port)
            fios.append(procs.start(["fio", f"--name=soak{index}", "--ioengine=nbd", f"--uri=nbd://127.0.0.1:{port}",
                                     "--rw=randrw", "--rwmixread=70", "--bs=4k", "--iodepth=8",
                                     f"--offset={index * 256}M", "--size=256M", f"--runtime={seconds}", "--time_based",
                                     "--output-format=json", f"--output={os.path.join(work, f'fio-{index}.json')}"],
                                    os.path.join(work, f"fio-{index}.log")))
        started = time.time()
        while time.time() - started < seconds:
            t = time.time() - started
            for name, pid in pids.items():
                series.setdefault(name, []).append((t, *sample(pid)))
            time.sleep(args.sample)
        for fio in fios:
            fio.wait(timeout=120)
        iops = []
        for index in range(len(gateways)):
            job = json.load(open(os.path.join(work, f"fio-{index}.json")))["jobs"][0]
            iops.append((job["read"]["iops"], job["write"]["iops"], job["error"]))
    finally:
        procs.stop_all()
        cb.cluster_down(state)
    warm = args.warmup * 60
    failed = False
    print(f"# soak {args.minutes} min through {len(iops)} gateways, 4 KiB randrw 70/30 QD8 each; warm-up {args.warmup} min")
    for index, (r, w, e) in enumerate(iops):
        print(f"# gateway {index + 1}: {r:.0f} read IOPS, {w:.0f} write IOPS, fio error {e}")
        failed |= e != 0
    print(f"{'process':<14}{'RSS@warm':>10}{'RSS max':>10}{'RSS end':>10}{'growth':>8}{'fds@warm':>10}{'fds max':>9}{'fds end':>9}{'growth':>8}")
    for name, points in series.items():
        after = [p for p in points if p[0] >= warm] or points[-1:]
        base, last = after[0], after[-1]
        g_rss = last[1] / base[1] if base[1] else 1
        g_fd = last[2] / base[2] if base[2] else 1
        failed |= g_rss > args.max_growth or g_fd > args.max_growth
        print(f"{name:<14}{base[1]:>10.0f}{max(p[1] for p in after):>10.0f}{last[1]:>10.0f}{g_rss:>8.2f}"
              f"{base[2]:>10}{max(p[2] for p in after):>9}{last[2]:>9}{g_fd:>8.2f}")
    if args.json:
        json.dump({"series": series, "iops": iops}, open(args.json, "w"), indent=2)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
