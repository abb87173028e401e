#!/usr/bin/env python3
"""Benchmark: parallel deploy of N testbed hosts vs the slowest single-host deploy (design.md
"Numbers": ≤ 1.25×, one ssh handshake per host per deploy). Root only; real sshd, nix, namespaces.

    FLEET_BIN=.build/release/fleet python3 tests/e2e/bench_deploy.py --hosts 8 [--payload BYTES] [--rate 8mbit] [--json]

Each deploy builds a new generation (so build, copy, activate and verify all do real work). Prints
the single-host times, the parallel time and the ratio; exits 1 if any deploy failed.

On one machine the hosts share its CPUs with fleet, nix and each other, so without --rate the
parallel run is CPU-bound (8 ssh handshakes, 8 nix evaluations, 8 nix-daemons on 2 cores). With
--payload and --rate each host's copy is bound by its own link, as with real machines."""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testbed_support import DeployTestbed, run_summary  # noqa: E402


def deploy(tb, *machines):
    t0 = time.monotonic()
    rc, events, err = tb.fleet("deploy", "--no-history", *machines)
    wall = time.monotonic() - t0
    if rc != 0:
        raise SystemExit(f"bench: deploy {' '.join(machines) or 'all'} failed ({rc}): {err}\n{json.dumps(run_summary(events))}")
    return wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=8)
    ap.add_argument("--payload", type=int, default=0, help="bytes of incompressible payload per system (makes copies measurable)")
    ap.add_argument("--rate", default=None,
                    help="limit every host's link (testbed slow-copy fault, e.g. 8mbit), as over a real network")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    tb = DeployTestbed(a.hosts, payload=a.payload)
    try:
        if a.rate:
            for h in tb.names:
                tb.fault(h, "slow-copy", a.rate)
        # Warm-up: the shared parts of every system (sw) are built and the hosts hold generation 1.
        deploy(tb)
        singles = {}
        for i, h in enumerate(tb.names):
            tb.set_generation(f"s{i}", [h])
            singles[h] = deploy(tb, h)
        tb.set_generation("par")
        before = tb.connections()
        parallel = deploy(tb)
        after = tb.connections()
        handshakes = {h: after[h] - before[h] for h in tb.names}
        slowest = max(singles.values())
        result = {"hosts": a.hosts, "payload_bytes": a.payload, "rate": a.rate, "single_seconds": {h: round(s, 3) for h, s in singles.items()},
                  "slowest_single_seconds": round(slowest, 3), "parallel_seconds": round(parallel, 3),
                  "ratio": round(parallel / slowest, 3), "handshakes_per_host": handshakes}
        if a.json:
            print(json.dumps(result))
        else:
            print(f"deploy bench: {a.hosts} testbed hosts, payload {a.payload} B, link {a.rate or 'unlimited'}")
            print("  single-host deploys: " + ", ".join(f"{h} {s:.2f}s" for h, s in singles.items()))
            print(f"  slowest single: {slowest:.2f}s   parallel ({a.hosts} hosts): {parallel:.2f}s   "
                  f"ratio: {parallel / slowest:.2f}x (target <= 1.25x)")
            print(f"  ssh handshakes per host in the parallel deploy: {sorted(set(handshakes.values()))} (target [1])")
    finally:
        tb.close()


if __name__ == "__main__":
    main()
