#!/usr/bin/env python3
"""Cold first frame of two or more fleet binaries, alternating one run each per round (the order
reversed every other round), on one generated 10k-machine fleet: settles whether a change moved the
first frame when single bench runs are too noisy (docs/PERFORMANCE.md, "Latest results").

Usage: bench/ab_first_frame.py ROUNDS BIN_A BIN_B [BIN_C ...]
Uses bench/run.py's own `first_frame` (pty, probe timestamp, empty cache per run)."""
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("run", os.path.join(HERE, "run.py"))
run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    rounds, bins = int(sys.argv[1]), [os.path.abspath(b) for b in sys.argv[2:]]
    work = tempfile.mkdtemp(prefix="fleet-ab-")
    env = run.base_env(work)
    big = f"{work}/fleet-10000"
    subprocess.run([bins[0], "demo", "generate", "--machines", "10000", "--dir", big],
                   check=True, stdout=subprocess.DEVNULL, env=env)
    res = {b: [] for b in bins}
    for r in range(rounds):
        for b in (bins if r % 2 == 0 else list(reversed(bins))):
            times, _ = run.first_frame(b, ["--inventory", big], env, work, 1, cold=True)
            res[b] += times
        print(f"round {r} load {os.getloadavg()[0]:.2f}: " + " ".join(f"{res[b][-1]:.1f}" for b in bins), flush=True)
    for b in bins:
        xs = res[b]
        print(f"{b}: median {statistics.median(xs):.1f} ms, min {min(xs):.1f}, mean {statistics.mean(xs):.1f}, "
              f"above 64 ms {sum(x > 64 for x in xs)} of {len(xs)}")


if __name__ == "__main__":
    main()
