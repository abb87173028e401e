#!/usr/bin/env python3
"""Benchmark: parallel deploy of N testbed hosts vs the slowest single-host deploy (design.md
"Numbers": ≤ 1.25×, one ssh handshake per host per deploy). Root only; real sshd, nix, namespaces.

    FLEET_BIN=.build/release/fleet python3 tests/e2e/bench_deploy.py --hosts 8 [--payload BYTES] [--rate 8mbit] [--json] [--floor]

Each deploy builds a new generation (so build, copy, activate and verify all do real work). Prints
the single-host times, the parallel time and the ratio; exits 1 if any deploy failed.

On one machine the hosts share its CPUs with fleet, nix and each other, so without --rate the
parallel run is CPU-bound (8 ssh handshakes, 8 nix evaluations, 8 nix-daemons on 2 cores). With
--payload and --rate each host's copy is bound by its own link, as with real machines."""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testbed_support import DeployTestbed, run_summary  # noqa: E402


def local_cpu():
    """CPU seconds of our finished children: fleet and everything it ran here (nix, ssh clients)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def target_cpu(tb):
    """CPU seconds spent inside the testbed hosts: each host's sshd with its finished sessions and
    everything they ran (nix-daemon, nix build, activation), from /proc/PID/stat of the sshd
    listener (utime + stime + cutime + cstime). On real machines this is the targets' own CPU."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for h in tb.status().values():
        if not h.get("sshd_pid"):
            continue
        try:
            with open(f"/proc/{h['sshd_pid']}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15]) / tick   # utime stime cutime cstime
    return total


def deploy(tb, *machines, breakdown=None, cpu=None):
    t0 = time.monotonic()
    c0, r0 = (local_cpu(), target_cpu(tb)) if cpu is not None else (0, 0)
    rc, events, err = tb.fleet("deploy", "--no-history", *machines)
    wall = time.monotonic() - t0
    if rc != 0:
        raise SystemExit(f"bench: deploy {' '.join(machines) or 'all'} failed ({rc}): {err}\n{json.dumps(run_summary(events))}")
    if breakdown is not None:
        breakdown.append(stage_seconds(events))
    if cpu is not None:
        cpu.append((local_cpu() - c0, target_cpu(tb) - r0))
    return wall


def stage_seconds(events):
    """host -> stage -> seconds, from the run's stage_finished events."""
    out = {}
    for e in events:
        if e["type"] == "stage_finished":
            out.setdefault(e["host"], {})[e["stage"]] = float(e["seconds"])
    return out


def slowest_per_stage(per_host):
    stages = {}
    for st in per_host.values():
        for k, v in st.items():
            stages[k] = max(stages.get(k, 0.0), v)
    return {k: round(v, 2) for k, v in stages.items()}


def copy_floor(tb, payload):
    """The same links without fleet: `nix copy` of a fresh incompressible path of `payload` bytes to
    each host, one host at a time (the slowest), then to all hosts at once. Their ratio is what
    the machine and the links allow for the copy alone (one ssh handshake + one nix-daemon per host,
    8 at once on the shared cores)."""
    def fresh_path(h, tag):
        f = os.path.join(tb.tmp, f"floor-{h}-{tag}.bin")
        with open(f, "wb") as out:
            out.write(os.urandom(payload))
        p = subprocess.run(["nix-store", "--add", f], capture_output=True, text=True, check=True).stdout.strip()
        os.unlink(f)
        return p

    def copy(h, path):
        env = dict(tb.env(), NIX_SSHOPTS="-F " + os.path.join(tb.dir, "ssh_config"))
        return subprocess.Popen(["nix", "--extra-experimental-features", "nix-command", "copy", "--no-check-sigs",
                                 "--to", f"ssh-ng://root@{h}", path], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def wait(procs):
        for p in procs:
            _, err = p.communicate()
            if p.returncode != 0:
                raise SystemExit(f"bench: floor nix copy failed: {err.decode(errors='replace')}")

    singles = {}
    for h in tb.names:
        path = fresh_path(h, "s")
        t0 = time.monotonic()
        wait([copy(h, path)])
        singles[h] = time.monotonic() - t0
    paths = {h: fresh_path(h, "p") for h in tb.names}
    t0 = time.monotonic()
    wait([copy(h, paths[h]) for h in tb.names])
    parallel = time.monotonic() - t0
    slowest = max(singles.values())
    return {"slowest_single_seconds": round(slowest, 3), "parallel_seconds": round(parallel, 3),
            "ratio": round(parallel / slowest, 3)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=8)
    ap.add_argument("--payload", type=int, default=0, help="bytes of incompressible payload per system (makes copies measurable)")
    ap.add_argument("--rate", default=None,
                    help="limit every host's link (testbed slow-copy fault, e.g. 8mbit), as over a real network")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--floor", action="store_true",
                    help="also time a plain parallel `nix copy` of the payload over the same links (the floor)")
    a = ap.parse_args()
    tb = DeployTestbed(a.hosts, payload=a.payload)
    try:
        if a.rate:
            for h in tb.names:
                tb.fault(h, "slow-copy", a.rate)
        # Warm-up: the shared parts of every system (sw) are built and the hosts hold generation 1.
        deploy(tb)
        singles, single_stages, single_cpu = {}, [], []
        for i, h in enumerate(tb.names):
            tb.set_generation(f"s{i}", [h])
            singles[h] = deploy(tb, h, breakdown=single_stages, cpu=single_cpu)
        tb.set_generation("par")
        before = tb.connections()
        par_stages = []
        load_before = os.getloadavg()[0]
        par_cpu = []
        parallel = deploy(tb, breakdown=par_stages, cpu=par_cpu)
        load_after = os.getloadavg()[0]
        after = tb.connections()
        handshakes = {h: after[h] - before[h] for h in tb.names}
        slowest = max(singles.values())
        slowest_host = max(singles, key=singles.get)
        result = {"hosts": a.hosts, "payload_bytes": a.payload, "rate": a.rate, "single_seconds": {h: round(s, 3) for h, s in singles.items()},
                  "slowest_single_seconds": round(slowest, 3), "parallel_seconds": round(parallel, 3),
                  "ratio": round(parallel / slowest, 3), "handshakes_per_host": handshakes,
                  # The slowest of 8 single runs is the max of 8 samples of a loaded machine; the
                  # median says how much of the ratio is that noise.
                  "median_single_seconds": round(statistics.median(singles.values()), 3),
                  "ratio_to_median_single": round(parallel / statistics.median(singles.values()), 3),
                  # Where the time went: the slowest single deploy's stages, and each stage's slowest host in the parallel run.
                  "stages_slowest_single": slowest_per_stage(single_stages[tb.names.index(slowest_host)]),
                  "stages_parallel_slowest": slowest_per_stage(par_stages[0]),
                  "load_average": [round(load_before, 1), round(load_after, 1)],
                  # CPU seconds: here (fleet, nix, ssh clients) and inside the hosts (sshd, nix-daemon,
                  # nix build, activation) — per single deploy (mean) and for the parallel one.
                  "cpu_single_mean": {"local": round(sum(c[0] for c in single_cpu) / len(single_cpu), 2),
                                      "targets": round(sum(c[1] for c in single_cpu) / len(single_cpu), 2)},
                  "cpu_parallel": {"local": round(par_cpu[0][0], 2), "targets": round(par_cpu[0][1], 2)}}
        if a.floor:
            result["nix_copy_floor"] = copy_floor(tb, a.payload or 1024)
        if a.json:
            print(json.dumps(result))
        else:
            print(f"deploy bench: {a.hosts} testbed hosts, payload {a.payload} B, link {a.rate or 'unlimited'}")
            print("  single-host deploys: " + ", ".join(f"{h} {s:.2f}s" for h, s in singles.items()))
            print(f"  slowest single: {slowest:.2f}s   parallel ({a.hosts} hosts): {parallel:.2f}s   "
                  f"ratio: {parallel / slowest:.2f}x (target <= 1.25x)   to the median single: {result['ratio_to_median_single']:.2f}x")
            print(f"  ssh handshakes per host in the parallel deploy: {sorted(set(handshakes.values()))} (target [1])")
            print(f"  CPU seconds, single (mean): {result['cpu_single_mean']}   parallel: {result['cpu_parallel']}   "
                  f"load average before/after: {result['load_average']}")
            print(f"  stages, slowest single: {result['stages_slowest_single']}")
            print(f"  stages, parallel (slowest host each): {result['stages_parallel_slowest']}")
            if a.floor:
                f = result["nix_copy_floor"]
                print(f"  floor, plain nix copy: slowest single {f['slowest_single_seconds']:.2f}s, parallel {f['parallel_seconds']:.2f}s, "
                      f"ratio {f['ratio']:.2f}x")
    finally:
        tb.close()


if __name__ == "__main__":
    main()
