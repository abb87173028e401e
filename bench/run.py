#!/usr/bin/env python3
"""make bench: every figure of issue 9, each next to a baseline measured in the same run.

Process-level figures (first frame, idle CPU, peak RSS) drive the real `fleet` binary in a pty and
read /proc; in-process figures come from the hidden `fleet bench-internal` command. Prints a table and
writes bench/results.json. Benchmarks, not tests: the exit status is 0 whatever PASS/MISS says
(non-zero only when the harness itself fails). See docs/PERFORMANCE.md for what each figure means.
"""
import argparse
import fcntl
import json
import os
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WIDTH, HEIGHT = 160, 50
NIX_CONFIG = "substituters =\nsandbox = false\n"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- helpers -------------------------------------------------------------------------------------

def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run_json(argv, env=None):
    """Runs a `fleet bench-internal` command and returns its JSON line."""
    out = subprocess.run(argv, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def base_env(work):
    env = dict(os.environ)
    # A private config/state dir: the user's config and palette history must not change figures.
    env.update(XDG_CONFIG_HOME=f"{work}/config", XDG_STATE_HOME=f"{work}/state", XDG_CACHE_HOME=f"{work}/cache",
               TERM="xterm-256color", LANG="C.UTF-8", LC_ALL="C.UTF-8")
    env.pop("NO_COLOR", None)
    # No background status probes: they ssh to every machine's deploy target every 30 s, and the
    # synthetic fleets' targets (root@host-00001.fleet, the demo's .zt names) are not ours to contact.
    env["FLEET_NO_PROBES"] = "1"
    for k in ("FLEET_BENCH_FRAME_LOG", "FLEET_BENCH_EXIT"):
        env.pop(k, None)
    return env


class PtyProcess:
    """`fleet` on the slave side of a fresh pty of WIDTHxHEIGHT; a thread drains the master so the
    process never blocks on output (as a terminal emulator would)."""

    def __init__(self, argv, env, cwd):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", HEIGHT, WIDTH, 0, 0))
        self.start_ns = time.time_ns()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                                     start_new_session=True, pass_fds=())
        os.close(slave)
        self.output = bytearray()
        self._stop = False
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self):
        while not self._stop:
            r, _, _ = select.select([self.master], [], [], 0.05)
            if r:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    return
                if not data:
                    return
                self.output += data

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.close()

    def terminate(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)  # our own child, by pid
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.close()

    def close(self):
        self._stop = True
        self._thread.join(timeout=1)
        try:
            os.close(self.master)
        except OSError:
            pass


def wait_frame_log(path, timeout=30.0, event="first-frame"):
    """(CLOCK_REALTIME ns, rows) of the probe's `event` line (BenchProbe.swift)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(event + " "):
                        parts = line.split()
                        return int(parts[1]), int(parts[2].split("=")[1])
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    raise RuntimeError(f"no {event} logged in {timeout}s ({path})")


def proc_status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])  # kB
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def proc_cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15 of stat)


def median(xs):
    return statistics.median(xs) if xs else None


# --- measurements ----------------------------------------------------------------------------------

def first_frame(fleet, args_, env, work, runs, cold=False):
    """ms from spawning `fleet` in a pty to the first frame with the fleet drawn (probe timestamp).
    cold: every run gets an empty $XDG_CACHE_HOME (no resolved-fleet cache); otherwise they
    share one, which run 0 fills (ResolvedFleetCache)."""
    times, rows = [], None
    for i in range(runs + 1):  # run 0 warms the page cache (and the resolved-fleet cache)
        logf = f"{work}/frame-{time.time_ns()}.log"
        e = dict(env, FLEET_BENCH_FRAME_LOG=logf, FLEET_BENCH_EXIT="1")
        if cold:
            e["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="cache-cold-", dir=work)
        p = PtyProcess([fleet] + args_, e, work)
        try:
            rc = p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.terminate()
            raise RuntimeError(f"fleet {' '.join(args_)} did not quit after its first frame")
        if rc != 0:
            raise RuntimeError(f"fleet {' '.join(args_)} exited {rc}: {bytes(p.output[-500:])!r}")
        ns, rows = wait_frame_log(logf, timeout=1)
        if i > 0:
            times.append((ns - p.start_ns) / 1e6)
    return times, rows


def nix_eval(inventory_json, env, runs):
    """ms for `nix eval --json` of the same inventory.json (builtins.fromJSON of the file)."""
    argv = ["nix", "--extra-experimental-features", "nix-command", "eval", "--impure", "--json", "--expr",
            f"builtins.fromJSON (builtins.readFile {inventory_json})"]
    e = dict(env, NIX_CONFIG=NIX_CONFIG)
    times = []
    for i in range(runs + 1):
        t0 = time.time_ns()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=e)
        if i > 0:
            times.append((time.time_ns() - t0) / 1e6)
    return times


def idle_cpu(fleet, env, work, seconds):
    """CPU% of the UI (demo) over `seconds` after its first frame, from /proc/<pid>/stat."""
    logf = f"{work}/idle.log"
    p = PtyProcess([fleet], dict(env, FLEET_BENCH_FRAME_LOG=logf), work)
    try:
        wait_frame_log(logf)
        time.sleep(0.5)  # let the load task finish
        t0, c0 = time.monotonic(), proc_cpu_ticks(p.proc.pid)
        time.sleep(seconds)
        t1, c1 = time.monotonic(), proc_cpu_ticks(p.proc.pid)
        return (c1 - c0) / CLK_TCK / (t1 - t0) * 100, c1 - c0
    finally:
        p.terminate()


def ui_peak_rss(fleet, inv_dir, env, work):
    """VmHWM (MB) of the UI on a fleet, read 3 s after its first frame: the fleet is on screen and the
    background loads that follow it (the vars scan) are done."""
    logf = f"{work}/rss-{time.time_ns()}.log"
    p = PtyProcess([fleet, "--inventory", inv_dir], dict(env, FLEET_BENCH_FRAME_LOG=logf), work)
    try:
        wait_frame_log(logf)
        time.sleep(3)
        return proc_status(p.proc.pid, "VmHWM") / 1024
    finally:
        p.terminate()


def ui_vars_load(fleet, inv_dir, env, work):
    """(ms from the UI's start to its first frame with the vars status, VmHWM in MB then) on a fleet
    with a vars tree: the Fleet table's SECRETS column and the Vars screen wait for the disk scan and
    the status of every generator (VarsOverview.load)."""
    logf = f"{work}/vars-{time.time_ns()}.log"
    p = PtyProcess([fleet, "--inventory", inv_dir], dict(env, FLEET_BENCH_FRAME_LOG=logf), work)
    try:
        ns, _ = wait_frame_log(logf, timeout=300, event="vars-loaded")
        return (ns - p.start_ns) / 1e6, proc_status(p.proc.pid, "VmHWM") / 1024
    finally:
        p.terminate()


def cli_peak_rss(argv, env, work):
    """Peak RSS (MB) of a whole CLI run, from wait4's rusage."""
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(argv, stdout=null, stderr=subprocess.PIPE, env=env, cwd=work)
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {err[-500:]}")
    return ru.ru_maxrss / 1024


def cli_times(argv, env, work, runs, cold=False):
    """ms of whole CLI runs (stdout discarded), after one warm-up run; cold: each with an empty
    $XDG_CACHE_HOME."""
    times = []
    for i in range(runs + 1):
        e = dict(env, XDG_CACHE_HOME=tempfile.mkdtemp(prefix="cache-cold-", dir=work)) if cold else env
        t0 = time.time_ns()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=e, cwd=work)
        if i > 0:
            times.append((time.time_ns() - t0) / 1e6)
    return times


def age_cli(identity, size, runs, env):
    """ms for the `age` CLI encrypting `size` bytes to the identity's recipient and decrypting them."""
    recipient = subprocess.run(["age-keygen", "-y", identity], check=True, capture_output=True, text=True).stdout.strip()
    plain = os.urandom(size)
    times = []
    for i in range(runs + 1):
        t0 = time.time_ns()
        ct = subprocess.run(["age", "-r", recipient], input=plain, check=True, capture_output=True, env=env).stdout
        pt = subprocess.run(["age", "-d", "-i", identity], input=ct, check=True, capture_output=True, env=env).stdout
        if i > 0:
            times.append((time.time_ns() - t0) / 1e6)
        if pt != plain:
            raise RuntimeError("age CLI round trip returned different bytes")
    return times


# --- the table -------------------------------------------------------------------------------------

def metric(mid, name, value, unit, target, baseline=None, baseline_what=None, ratio=None, ratio_target=False,
           details=None, note=None):
    """target: (op, number) on value — or on ratio when ratio_target. None: informational."""
    if ratio is None and value is not None and baseline:
        ratio = value / baseline
    if value is None:
        result = "NOT MEASURED"
    elif target is None:
        result = "info"
    else:
        op, t = target
        x = ratio if ratio_target else value
        ok = x < t if op == "<" else x <= t
        result = "PASS" if ok else "MISS"
    if ratio is None and value is not None and baseline:
        ratio = value / baseline
    return dict(id=mid, name=name, value=value, unit=unit,
                target=None if target is None else {"op": target[0], "value": target[1], "on": "ratio" if ratio_target else "value"},
                baseline=baseline, baseline_what=baseline_what, ratio=ratio, result=result,
                details=details or {}, note=note)


def fmt(x, unit=""):
    if x is None:
        return "-"
    if isinstance(x, float):
        s = f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"
    else:
        s = str(x)
    return f"{s} {unit}".strip()


def print_table(metrics):
    rows = [("metric", "value", "target", "baseline", "ratio", "result")]
    for m in metrics:
        t = m["target"]
        if t is None:
            target = "-"
        elif t["on"] == "ratio":
            target = f"ratio {t['op']} {t['value']}"
        else:
            target = f"{t['op']} {t['value']} {m['unit']}"
        rows.append((m["name"], fmt(m["value"], m["unit"]), target,
                     fmt(m["baseline"], m["unit"]) + (f" ({m['baseline_what']})" if m["baseline_what"] else ""),
                     "-" if m["ratio"] is None else f"{m['ratio']:.3f}", m["result"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, r in enumerate(rows):
        print("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))


# --- main ------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fleet", required=True, help="the release fleet binary")
    ap.add_argument("--out", help="where to write the results (default: bench/results.json for a full run; "
                    "a partial run with --only must name its own file, so it never replaces the full results)")
    ap.add_argument("--machines", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=10, help="process-level repetitions")
    ap.add_argument("--idle-seconds", type=float, default=10.0)
    ap.add_argument("--only", default="", help="comma-separated metric groups to run (default: all)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    fleet = os.path.abspath(args.fleet)
    only = set(filter(None, args.only.split(",")))
    if args.out is None:
        if only:
            ap.error("--only runs part of the bench: give --out FILE (bench/results.json holds the full run)")
        args.out = os.path.join(REPO, "bench", "results.json")
    want = lambda g: not only or g in only

    work = tempfile.mkdtemp(prefix="fleet-bench-")
    env = base_env(work)
    demo_dir = os.path.join(REPO, "inventory")
    big = f"{work}/fleet-{args.machines}"
    metrics = []
    t_start = time.time()
    try:
        if any(want(g) for g in ("frame", "render", "parse", "list", "vars", "rss")):
            log(f"generating a {args.machines}-machine fleet in {big}")
            subprocess.run([fleet, "demo", "generate", "--machines", str(args.machines), "--dir", big],
                           check=True, stdout=subprocess.DEVNULL, env=env)
        bench_env = dict(env)

        if want("frame"):
            log("first frame (pty) and nix eval baselines")
            demo_ff, demo_rows = first_frame(fleet, [], env, work, args.runs)
            demo_nix = nix_eval(f"{demo_dir}/inventory.json", env, max(3, args.runs // 2))
            big_ff, big_rows = first_frame(fleet, ["--inventory", big], env, work, args.runs, cold=True)
            # The resolved-fleet cache stores only files older than 2 s (timestamp granularity):
            # the inventory and every vars value its addresses come from.
            newest = max(os.stat(os.path.join(r, f)).st_ctime for r, _, fs in os.walk(big) for f in fs)
            time.sleep(max(0.0, 2.1 - (time.time() - newest)))
            warm_ff, _ = first_frame(fleet, ["--inventory", big], env, work, args.runs)
            big_nix = nix_eval(f"{big}/inventory.json", env, max(3, args.runs // 2))
            metrics.append(metric("first_frame_demo", "first frame, demo", median(demo_ff), "ms", ("<", 30),
                                  median(demo_nix), "nix eval", details=dict(runs_ms=demo_ff, rows=demo_rows, nix_eval_ms=demo_nix)))
            metrics.append(metric("first_frame_10k", f"first frame, {args.machines} machines, cold", median(big_ff), "ms", ("<", 100),
                                  median(big_nix), "nix eval", details=dict(runs_ms=big_ff, rows=big_rows, nix_eval_ms=big_nix)))
            metrics.append(metric("first_frame_10k_warm", f"first frame, {args.machines} machines, warm", median(warm_ff), "ms", ("<", 40),
                                  median(big_nix), "nix eval", details=dict(runs_ms=warm_ff, nix_eval_ms=big_nix)))

        if want("render"):
            log("frame render and filter keystroke (in-process)")
            r_big = run_json([fleet, "bench-internal", "render", "--inventory", big, "--width", str(WIDTH), "--height", str(HEIGHT)], bench_env)
            r_demo = run_json([fleet, "bench-internal", "render", "--inventory", demo_dir, "--width", str(WIDTH), "--height", str(HEIGHT)], bench_env)
            metrics.append(metric("frame_10k", f"one frame, {r_big['machines']}-row table", r_big["frame"]["median_ms"], "ms", ("<", 2),
                                  r_demo["frame"]["median_ms"], f"{r_demo['machines']}-row demo", details=dict(big=r_big, demo=r_demo)))
            f_big = run_json([fleet, "bench-internal", "filter", "--inventory", big, "--width", str(WIDTH), "--height", str(HEIGHT)], bench_env)
            f_demo = run_json([fleet, "bench-internal", "filter", "--inventory", demo_dir, "--width", str(WIDTH), "--height", str(HEIGHT)], bench_env)
            metrics.append(metric("filter_10k", f"filter keystroke -> frame, {f_big['machines']}", f_big["keystroke"]["median_ms"], "ms", ("<", 16),
                                  f_demo["keystroke"]["median_ms"], "demo", details=dict(big=f_big, demo=f_demo)))

        if want("parse"):
            log("inventory parse + resolution (in-process)")
            p = run_json([fleet, "bench-internal", "parse", "--inventory", big], bench_env)
            metrics.append(metric("parse_10k", f"inventory parse, {p['machines']}", p["load"]["median_ms"], "ms", ("<=", 0.5),
                                  p["jsonserialization"]["median_ms"], "JSONSerialization", ratio_target=True, details=p))
            metrics.append(metric("parse_resolve_10k", f"inventory parse+resolve, {p['machines']}", p["total"]["median_ms"], "ms", None,
                                  p["jsonserialization"]["median_ms"], "JSONSerialization", details=p))

        if want("list"):
            log("fleet list --json vs nix eval of the same inventory.json")
            lst = cli_times([fleet, "list", "--inventory", big, "--json"], env, work, args.runs, cold=True)
            time.sleep(max(0.0, 2.1 - (time.time() - os.stat(f"{big}/inventory.json").st_mtime)))
            warm = cli_times([fleet, "list", "--inventory", big, "--json"], env, work, args.runs)
            nix = nix_eval(f"{big}/inventory.json", env, max(3, args.runs // 2))
            metrics.append(metric("list_json_10k", f"fleet list --json, {args.machines}, cold", median(lst), "ms", ("<=", 0.5),
                                  median(nix), "nix eval", ratio_target=True, details=dict(runs_ms=lst, nix_eval_ms=nix)))
            metrics.append(metric("list_json_10k_warm", f"fleet list --json, {args.machines}, warm", median(warm), "ms", ("<=", 0.5),
                                  median(nix), "nix eval", ratio_target=True, details=dict(runs_ms=warm, nix_eval_ms=nix)))

        if want("rss"):
            log("peak RSS (pty UI and fleet list)")
            floor = cli_peak_rss([fleet, "--version"], env, work)
            # Cold: no resolved-fleet cache, so the inventory.json parse is in the peak.
            ui = ui_peak_rss(fleet, big, dict(env, XDG_CACHE_HOME=tempfile.mkdtemp(prefix="cache-cold-", dir=work)), work)
            lst = cli_peak_rss([fleet, "list", "--inventory", big], dict(env, XDG_CACHE_HOME=tempfile.mkdtemp(prefix="cache-cold-", dir=work)), work)
            metrics.append(metric("rss_ui_10k", f"peak RSS, UI, {args.machines}", ui, "MB", ("<", 60), floor, "fleet --version"))
            metrics.append(metric("rss_list_10k", f"peak RSS, fleet list, {args.machines}", lst, "MB", ("<", 60), floor, "fleet --version"))

        if want("idle"):
            log(f"idle CPU over {args.idle_seconds:.0f} s (pty, demo)")
            cpu, ticks = idle_cpu(fleet, env, work, args.idle_seconds)
            metrics.append(metric("idle_cpu", f"idle CPU over {args.idle_seconds:.0f} s", cpu, "%", ("<", 0.5),
                                  details=dict(ticks=ticks, clk_tck=CLK_TCK),
                                  note="resolution: one clock tick (1/CLK_TCK s) over the window"))

        if want("vars"):
            metrics.extend(vars_metrics(fleet, big, bench_env))

        if want("age"):
            log("age in-process vs the age CLI")
            keydir = tempfile.mkdtemp(prefix="fleet-bench-age-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
            try:
                ident = f"{keydir}/key.txt"
                subprocess.run(["age-keygen", "-o", ident], check=True, capture_output=True)
                a = run_json([fleet, "bench-internal", "age", "--identity", ident, "--size", "1024"], bench_env)
                cli = age_cli(ident, 1024, max(10, args.runs * 2), env)
            finally:
                shutil.rmtree(keydir, ignore_errors=True)
            metrics.append(metric("age_1k", "age encrypt+decrypt 1 KiB", a["roundtrip"]["median_ms"], "ms", ("<", 1.0),
                                  median(cli), "age CLI", ratio_target=True,
                                  ratio=a["roundtrip"]["median_ms"] / median(cli), details=dict(inprocess=a, cli_ms=cli)))

        if want("deploy"):
            metrics.extend(deploy_metrics(fleet, work, env))
    finally:
        if args.keep:
            log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print_table(metrics)
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    result = dict(when=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_start)), commit=commit,
                  host=dict(nproc=os.cpu_count(), loadavg_at_end=os.getloadavg()),
                  terminal=dict(width=WIDTH, height=HEIGHT), metrics=metrics)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(f"\nwrote {os.path.relpath(args.out, os.getcwd())}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


def vars_metrics(fleet, big, env, generators=10):
    """Vars status of every machine × `generators` generators from files alone (no decryption), on a
    synthetic tree in clan's layout written next to the big fleet (see BenchVarsTree.swift)."""
    log(f"vars: writing {generators} generators per machine (clan layout, sops JSON secrets)")
    g = run_json([fleet, "bench-internal", "vars-generate", "--dir", big, "--generators", str(generators)], env)
    log(f"vars: tree written in {g['ms'] / 1000:.1f} s; status")
    v = run_json([fleet, "bench-internal", "vars-status", "--dir", big, "--iterations", "3"], env)
    if v["machines_with_problems"] != 0:
        raise RuntimeError(f"vars status found problems in the synthetic tree: {v}")
    floor = v["filesystem_floor"]["median_ms"]
    label = f"vars status {v['machines']} x {generators} ({v['files']} files)"
    log("vars: the UI's vars load (first run fills the index with the disk scan's facts; then 2 warm)")
    work = tempfile.mkdtemp(prefix="fleet-bench-ui-vars-")
    try:
        ui = [ui_vars_load(fleet, big, env, work) for _ in range(3)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ui_ms, ui_rss = [t for t, _ in ui[1:]], [r for _, r in ui[1:]]
    return [catalog_metric(fleet, big, env),
            metric("ui_vars_loaded_10k", f"UI start -> vars status on screen, {v['machines']} x {generators}, warm",
                   median(ui_ms), "ms", None, v["warm"]["median_ms"], "vars status warm",
                   details=dict(runs_ms=ui_ms, first_run_ms=ui[0][0])),
            metric("rss_ui_vars_10k", f"peak RSS, UI with vars status, {v['machines']} x {generators}", max(ui_rss), "MB", None,
                   details=dict(runs_mb=ui_rss, first_run_mb=ui[0][1])),
            metric("vars_status_10k", label + ", warm", v["warm"]["median_ms"], "ms", ("<", 300), floor, "fs floor",
                   details=dict(status=v, generate=g)),
            metric("vars_status_10k_cold", label + ", cold", v["cold"]["median_ms"], "ms", ("<=", 1.5), floor, "fs floor",
                   ratio_target=True, details=dict(status=v)),
            # The calls a warm status makes to stamp its files (each fstatat/lstat and machine directory
            # open, recorded from a warm run), made again with nothing else on the same threads: warm's
            # ratio to it is fleet's own work above the syscalls (sampled alternately with warm).
            metric("vars_status_10k_warm_stat_floor", label + ", warm / stat floor", v["warm"]["median_ms"], "ms", None,
                   v["stat_floor"]["median_ms"], "stat floor", details=dict(stat_floor=v["stat_floor"],
                                                                            calls=v["stat_floor_calls"],
                                                                            warm_cpu=v["warm_cpu"],
                                                                            stat_floor_cpu=v["stat_floor_cpu"]))]


def catalog_metric(fleet, big, env):
    """Loading generators.json when every machine declares the same shared generators (each of the
    big fleet's templates made `share: true`), against the same file with per-machine generators: the
    shape of a clan zerotier network, where every machine declares `zerotier-network-<i>`. A catalog
    that copied a shared generator's machine list per declarer took 3.6 s here instead of 0.2 s."""
    shared_dir = big + "-shared-generators"
    os.makedirs(shared_dir, exist_ok=True)
    with open(os.path.join(big, "generators.json")) as f:
        doc = json.load(f)
    for t in doc.get("templates", {}).values():
        t["share"] = True
    with open(os.path.join(shared_dir, "generators.json"), "w") as f:
        json.dump(doc, f)
    own = run_json([fleet, "bench-internal", "catalog", "--dir", big], env)
    shared = run_json([fleet, "bench-internal", "catalog", "--dir", shared_dir], env)
    if shared["shared"] == 0 or shared["declarations"] != own["declarations"]:
        raise RuntimeError(f"the shared-generator catalog is not the big fleet's declarations made shared: {shared} vs {own}")
    label = f"generator catalog load, {shared['declarations']} declarations of {shared['shared']} shared generators"
    return metric("catalog_shared_10k", label, shared["load"]["median_ms"], "ms", None, own["load"]["median_ms"],
                  "per-machine", details=dict(shared=shared, per_machine=own))


DEPLOY_HOSTS = 8
DEPLOY_PAYLOAD = 2 * 1024 * 1024   # bytes of incompressible payload per system generation
DEPLOY_RATE = "2mbit"              # testbed slow-copy: every host's link


def has_deploy(fleet, env):
    return subprocess.run([fleet, "deploy", "--help"], capture_output=True, env=env).returncode == 0


def deploy_metrics(fleet, work, env):
    """Parallel deploy of 8 testbed hosts vs the slowest single-host deploy, and ssh handshakes per
    host, by the deploy suite's own benchmark (tests/e2e/bench_deploy.py: real sshd, nix, network
    namespaces; every timed deploy builds, copies, activates and verifies a new generation).

    Each generation carries a 2 MiB payload and every host's link is limited to 2 mbit/s (testbed
    fault slow-copy), so a deploy is dominated by copying, as real deploys are; without them, on 2
    cores, 8 parallel deploys are CPU-bound (8 nix evaluations + ssh handshakes) and measure the CPU."""
    name = f"parallel deploy {DEPLOY_HOSTS} / slowest single"
    script = os.path.join(REPO, "tests", "e2e", "bench_deploy.py")
    if not has_deploy(fleet, env) or not os.path.exists(script):
        return [metric("deploy_8", name, None, "s", ("<=", 1.25), ratio_target=True,
                       note="not measured: this build has no `fleet deploy` / tests/e2e/bench_deploy.py")]
    if os.geteuid() != 0:
        return [metric("deploy_8", name, None, "s", ("<=", 1.25), ratio_target=True,
                       note="not measured: the testbed needs root (network namespaces)")]
    log(f"deploy: {DEPLOY_HOSTS} testbed hosts, {DEPLOY_PAYLOAD} B payload, {DEPLOY_RATE} per host (tests/e2e/bench_deploy.py)")
    r = subprocess.run([sys.executable, script, "--hosts", str(DEPLOY_HOSTS), "--payload", str(DEPLOY_PAYLOAD),
                        "--rate", DEPLOY_RATE, "--json", "--floor"], env=dict(env, FLEET_BIN=fleet), capture_output=True, text=True)
    if r.returncode != 0:
        return [metric("deploy_8", name, None, "s", ("<=", 1.25), ratio_target=True,
                       note="not measured: bench_deploy.py failed: " + (r.stderr or r.stdout).strip()[-400:])]
    d = json.loads(r.stdout.strip().splitlines()[-1])
    return [metric("deploy_8", name, d["parallel_seconds"], "s", ("<=", 1.25), d["slowest_single_seconds"], "slowest single",
                   ratio=d["ratio"], ratio_target=True, details=d),
            metric("ssh_handshakes", "ssh handshakes per host, parallel deploy", max(d["handshakes_per_host"].values()), "",
                   ("<=", 1), details=dict(per_host=d["handshakes_per_host"])),
            # The floor of the same run: plain `nix copy` of the payload over the same links, one host
            # vs all 8 at once (one ssh handshake + one nix-daemon per host on the shared cores).
            metric("deploy_copy_floor", "floor: parallel nix copy 8 / slowest single", d["nix_copy_floor"]["parallel_seconds"], "s",
                   None, d["nix_copy_floor"]["slowest_single_seconds"], "slowest single nix copy",
                   ratio=d["nix_copy_floor"]["ratio"], details=d["nix_copy_floor"])]


if __name__ == "__main__":
    main()
