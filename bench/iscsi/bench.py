#!/usr/bin/env python3
"""Side-by-side block benchmark: SdsTarget (`sds server --demo`) against Linux tgt, in one run.

Both targets listen on 127.0.0.1 and serve 1 GiB (ours: the demo volume of the embedded cluster, tgt: a
sparse file). Each workload runs through the
same initiators against each target in turn:
  - fio --ioengine=nbd through qemu-nbd on the target's iscsi:// URL (QEMU's libiscsi driver);
  - iscsi-perf (libiscsi) for raw 4 KiB random reads.
It prints IOPS, MB/s, mean and p99 latency per workload and the ratio ours/tgt, and writes the
table as JSON beside the text when --json is given. Every process it starts is stopped by PID.

Workloads run interleaved (sds, tgt, tgt, sds, ...) so load swings on a shared machine hit both.
qemu-nbd keeps at most 16 requests in flight per NBD client, so the fio "qd32" rows reach the
target as QD16; iscsi-perf is a direct libiscsi initiator and does reach QD32.

Usage: bench/iscsi/bench.py [--seconds N] [--repeat N] [--only sds|tgt] [--json FILE] [--sds-args "..."]
Environment: BENCH_SECONDS (default 10) and BENCH_REPEAT (default 1) set the defaults; SDS_DLL
points at another build of sds.dll (e.g. an older commit, for before/after tables).
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_IQN = "iqn.2026-11.io.sds:demo"
TGT_IQN = "iqn.2026-11.io.sds:tgt-reference"
SIZE_BYTES = 1 << 30

# name, fio rw, block size, iodepth
FIO_WORKLOADS = [
    ("seqwrite-1M-qd8", "write", "1M", 8),
    ("seqread-1M-qd8", "read", "1M", 8),
    ("randwrite-4k-qd1", "randwrite", "4k", 1),
    ("randwrite-4k-qd32", "randwrite", "4k", 32),
    ("randread-4k-qd1", "randread", "4k", 1),
    ("randread-4k-qd32", "randread", "4k", 32),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_control_port():
    """tgtd's management channel is a unix socket /var/run/tgtd/socket.N with N at most 32767."""
    import random
    for _ in range(1000):
        n = random.randint(2000, 32000)
        if not os.path.exists(f"/var/run/tgtd/socket.{n}"):
            return n
    raise SystemExit("bench: no free tgtd control port")


def wait_port(port, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"bench: nothing listens on 127.0.0.1:{port} after {seconds}s")


class Processes:
    """Everything this run started, stopped by PID in reverse order."""

    def __init__(self):
        self.started = []

    def start(self, argv, log_path, **kw):
        log = open(log_path, "wb")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, **kw)
        self.started.append(proc)
        return proc

    def stop(self, proc, grace_seconds=5):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace_seconds)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc in self.started:
            self.started.remove(proc)
        socket_path = getattr(proc, "control_socket", None)
        if socket_path:
            # A killed tgtd leaves its management socket and lock behind.
            for path in (socket_path, socket_path + ".lock"):
                try:
                    os.unlink(path)
                except OSError:
                    pass

    def stop_all(self):
        for proc in reversed(list(self.started)):
            self.stop(proc)


def start_tgt(procs, work):
    """tgtd in the foreground on its own control port, one target with a sparse file LUN 1."""
    port, control = free_port(), free_control_port()
    image = os.path.join(work, "tgt.img")
    with open(image, "wb") as f:
        f.truncate(SIZE_BYTES)
    proc = procs.start(["tgtd", "-f", "-C", str(control), "--iscsi", f"portal=127.0.0.1:{port}"],
                       os.path.join(work, "tgtd.log"))
    wait_port(port)
    adm = ["tgtadm", "-C", str(control), "--lld", "iscsi"]
    subprocess.run(adm + ["--op", "new", "--mode", "target", "--tid", "1", "-T", TGT_IQN], check=True)
    subprocess.run(adm + ["--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "1",
                          "-b", image], check=True)
    subprocess.run(adm + ["--op", "bind", "--mode", "target", "--tid", "1", "-I", "ALL"], check=True)
    proc.control_socket = f"/var/run/tgtd/socket.{control}"
    return proc, f"iscsi://127.0.0.1:{port}/{TGT_IQN}/1"


def start_sds(procs, work, extra_args):
    port = free_port()
    dll = os.environ.get("SDS_DLL") or os.path.join(ROOT, "cli", "bin", "Release", "net10.0", "sds.dll")
    data = os.path.join(work, "sds-data")
    argv = ["dotnet", dll, "server", "--data", data, "--demo", "--portal", f"127.0.0.1:{port}",
            "--api", f"127.0.0.1:{free_port()}"] + extra_args
    proc = procs.start(argv, os.path.join(work, "sds.log"))
    wait_port(port)
    return proc, f"iscsi://127.0.0.1:{port}/{DEMO_IQN}/0"


def run_fio(procs, work, url, name, rw, bs, depth, seconds):
    """One fio job over NBD, through qemu-nbd's libiscsi driver on the target URL."""
    nbd_port = free_port()
    qemu = procs.start(["qemu-nbd", "-f", "raw", "--bind", "127.0.0.1", "--port", str(nbd_port),
                        "--persistent", "--shared", "4", "--cache", "none", url],
                       os.path.join(work, f"qemu-nbd-{name}.log"))
    try:
        wait_port(nbd_port)
        out = os.path.join(work, f"fio-{name}.json")
        cmd = ["fio", f"--name={name}", "--ioengine=nbd", f"--uri=nbd://127.0.0.1:{nbd_port}",
               f"--rw={rw}", f"--bs={bs}", f"--iodepth={depth}", "--size=1G",
               f"--runtime={seconds}", "--time_based", "--ramp_time=1", "--randrepeat=0",
               "--output-format=json", f"--output={out}"]
        subprocess.run(cmd, check=True, timeout=seconds + 60, stdout=subprocess.DEVNULL)
        job = json.load(open(out))["jobs"][0]
        side = job["read"] if "read" in rw else job["write"]
        clat = side["clat_ns"]
        p99 = clat.get("percentile", {}).get("99.000000", 0)
        return {"iops": side["iops"], "mbps": side["bw_bytes"] / 1e6,
                "mean_us": clat["mean"] / 1e3, "p99_us": p99 / 1e3}
    finally:
        procs.stop(qemu)


def run_iscsi_perf(url, depth, seconds):
    """libiscsi's own load generator: random 4 KiB (8 × 512 B) reads at a queue depth."""
    proc = subprocess.run(["iscsi-perf", "-m", str(depth), "-b", "8", "-t", str(seconds), "-r", url],
                          capture_output=True, text=True, timeout=seconds + 60)
    text = (proc.stdout + proc.stderr).replace("\r", "\n")
    iops = 0.0
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("iops average"):
            iops = float(line.split()[2])
    return {"iops": iops, "mbps": iops * 4096 / 1e6, "mean_us": (depth / iops * 1e6) if iops else 0,
            "p99_us": 0}


def guarded(label, fn):
    """One measurement; a failing workload prints why and leaves a hole, never ends the run."""
    try:
        return fn()
    except (subprocess.SubprocessError, OSError, ValueError, KeyError, SystemExit) as error:
        print(f"  {label}: FAILED ({error})", file=sys.stderr, flush=True)
        return None


def median_run(runs):
    """The run with the median IOPS of `runs` (None entries dropped)."""
    runs = sorted((r for r in runs if r), key=lambda r: r["iops"])
    return runs[len(runs) // 2] if runs else None


def measure_interleaved(procs, work, urls, seconds, repeat, wanted=None):
    """Every workload runs against each target in turn (order alternating), so load swings on a
    shared machine hit both sides alike; with repeat > 1 the median-IOPS run is kept."""
    results = {side: {} for side in urls}
    sides = list(urls)
    workloads = [(name, "fio", rw, bs, depth) for name, rw, bs, depth in FIO_WORKLOADS]
    workloads.append(("iscsi-perf-read-4k-qd32", "iscsi-perf", None, None, 32))
    if wanted:
        workloads = [w for w in workloads if w[0] in wanted]
    for index, (name, kind, rw, bs, depth) in enumerate(workloads):
        runs = {side: [] for side in sides}
        for round_ in range(repeat):
            order = sides if (index + round_) % 2 == 0 else list(reversed(sides))
            for side in order:
                if kind == "fio":
                    r = guarded(f"{side} {name}", lambda: run_fio(procs, work, urls[side], f"{side}-{name}", rw, bs, depth, seconds))
                else:
                    r = guarded(f"{side} {name}", lambda: run_iscsi_perf(urls[side], depth, seconds))
                runs[side].append(r)
                if r:
                    print(f"  {side} {name}: {r['iops']:.0f} IOPS", file=sys.stderr, flush=True)
        for side in sides:
            results[side][name] = median_run(runs[side])
    return results


def print_table(ours, tgt):
    header = f"{'workload':<26}{'sds IOPS':>10}{'tgt IOPS':>10}{'sds MB/s':>10}{'tgt MB/s':>10}" \
             f"{'sds mean':>10}{'tgt mean':>10}{'sds p99':>10}{'tgt p99':>10}{'ratio':>8}"
    print(header)
    for name in list((ours or tgt or {}).keys()):
        o, t = (ours or {}).get(name), (tgt or {}).get(name)
        cell = lambda d, k, fmt: (fmt.format(d[k]) if d else "-")
        ratio = f"{o['iops'] / t['iops']:.2f}" if o and t and t["iops"] else "-"
        print(f"{name:<26}{cell(o, 'iops', '{:.0f}'):>10}{cell(t, 'iops', '{:.0f}'):>10}"
              f"{cell(o, 'mbps', '{:.1f}'):>10}{cell(t, 'mbps', '{:.1f}'):>10}"
              f"{cell(o, 'mean_us', '{:.0f}us'):>10}{cell(t, 'mean_us', '{:.0f}us'):>10}"
              f"{cell(o, 'p99_us', '{:.0f}us'):>10}{cell(t, 'p99_us', '{:.0f}us'):>10}{ratio:>8}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", "10")))
    ap.add_argument("--only", choices=["sds", "tgt"])
    ap.add_argument("--json")
    ap.add_argument("--sds-args", default="")
    ap.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", "1")))
    ap.add_argument("--workloads", help="comma-separated subset of workload names")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    for tool in ("fio", "qemu-nbd", "iscsi-perf", "tgtd", "tgtadm", "dotnet"):
        if not shutil.which(tool):
            raise SystemExit(f"bench: {tool} not found (apt-get install -y fio qemu-utils "
                             "qemu-block-extra libiscsi-bin tgt)")
    if not args.no_build and args.only != "tgt":
        subprocess.run(["dotnet", "build", "-c", "Release", "-v", "q", "--nologo",
                        os.path.join(ROOT, "cli", "Sds.Cli.csproj")], check=True)
    procs = Processes()
    work = tempfile.mkdtemp(prefix="sds-bench-")
    ours = tgt = None
    try:
        urls = {}
        if args.only != "tgt":
            _, urls["sds"] = start_sds(procs, work, args.sds_args.split())
        if args.only != "sds":
            _, urls["tgt"] = start_tgt(procs, work)
        wanted = set(args.workloads.split(",")) if args.workloads else None
        results = measure_interleaved(procs, work, urls, args.seconds, args.repeat, wanted)
        ours, tgt = results.get("sds"), results.get("tgt")
    finally:
        # tgtd ignores SIGTERM while targets exist: stop_all escalates to SIGKILL after the grace.
        procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {args.seconds}s per run, "
          f"repeat {args.repeat} (median), load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, "
          f"{os.cpu_count()} CPUs")
    print("# fio runs through qemu-nbd, which keeps at most 16 requests in flight per client: "
          "the qd32 fio rows reach the target as QD16. iscsi-perf talks iSCSI directly (true QD32).")
    print_table(ours, tgt)
    if args.json:
        json.dump({"sds": ours, "tgt": tgt, "seconds": args.seconds, "repeat": args.repeat,
                   "loadavg": load}, open(args.json, "w"), indent=2)


if __name__ == "__main__":
    main()
