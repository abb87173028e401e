"""Deploy faults (issue 10): the ssh connection dropped mid-copy and mid-activation (a clear per-host
error naming the stage, the other host still deploys, `--retry-failed` works), and signals sent to
the dashboard mid-deploy (terminal restored, children reaped, no orphan ssh or nix process).
Real testbed hosts: network namespaces running sshd, each with its own /nix store. Root only."""
import json
import os
import shlex
import signal
import subprocess
import time

import pytest

from fault_support import STRESS, descendants, iterations, live, processes_mentioning, proc_table, record
from test_skeleton import terminal_is_sane
from testbed_support import DeployTestbed, NIX_CONFIG, finished
from tmuxdriver import wait_until

# ~2 MB of payload through a 2 mbit/s link: the copy takes several seconds, time to cut it.
PAYLOAD = 2_000_000


@pytest.fixture(scope="module")
def tb():
    t = DeployTestbed(2, payload=PAYLOAD)
    try:
        yield t
    finally:
        t.close()


GENERATION = [0]


def next_generation(tb):
    GENERATION[0] += 1
    g = f"f{GENERATION[0]}"
    tb.set_generation(g)
    return g


def drop_ssh(tb, host):
    """Kills every sshd of `host` (the listener and the open sessions), as a host crashing or a
    connection reset would; new connections are refused until the fault is cleared. Returns the
    number of sshd processes killed (sessions included)."""
    listener = tb.status()[host]["pid"]
    ns = os.readlink(f"/proc/{listener}/ns/net")
    tb.fault(host, "sshd-refuse")  # the listener stops; `clear` starts it again
    killed = 0
    for pid, (_, _, state, cmd) in proc_table().items():
        try:
            same = os.readlink(f"/proc/{pid}/ns/net") == ns
        except OSError:
            continue
        if same and state != "Z" and cmd.startswith("sshd"):
            os.kill(pid, signal.SIGKILL)
            killed += 1
    return killed


def deploy_and_cut(tb, host, wait_for):
    """Runs `fleet deploy --json`; when `wait_for(event)` is true, drops `host`'s ssh. Returns
    (exit status, events, sshd processes killed, pids of fleet's children seen while running)."""
    # --build-local: the closure is copied from here, so there is a copy stage to cut (a build on
    # the target, the default, copies only the small derivations).
    proc = subprocess.Popen(tb.fleet_args("deploy", "--build-local", "--json"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=tb.env(), start_new_session=True)
    events, killed, children = [], 0, set()
    try:
        deadline = time.time() + 120
        for line in proc.stdout:
            if line.startswith("{"):
                e = json.loads(line)
                events.append(e)
                if not killed and wait_for(e):
                    # The stage is under way once fleet has a child process for it.
                    children = wait_until(lambda: descendants(proc.pid), 30, fail=False) or set()
                    killed = drop_ssh(tb, host)
            assert time.time() < deadline, "deploy did not finish"
        rc = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return rc, events, killed, children, proc.stderr.read()


def leftover_processes(tb, children):
    """What of the run is still alive after it had a few seconds to go away."""
    def left():
        return sorted(live(children)) + [p for p, _ in processes_mentioning(tb.tmp + "/")]
    wait_until(lambda: not left(), 10, fail=False)
    return left()


def check_cut_and_retry(tb, host, stage, wait_for, fault=None):
    other = next(h for h in tb.names if h != host)
    problems, orphans = [], 0
    gen = next_generation(tb)
    if fault:
        tb.fault(host, fault)
    try:
        rc, events, killed, children, err = deploy_and_cut(tb, host, wait_for)
    finally:
        tb.fault(host, "clear")
    done = finished(events)
    if not killed:
        problems.append(f"the {stage} stage of {host} was never reached (no sshd killed); events: {[e['type'] for e in events][-5:]}")
    if rc != 1:
        problems.append(f"exit status {rc}, expected 1: {err}")
    r = done.get(host, {})
    if r.get("failed_stage") != stage or not r.get("error", "").startswith(f"[{host}] {stage} failed: ") or "\n" in r.get("error", ""):
        problems.append(f"{host}: expected a one-line '[{host}] {stage} failed: …' error, got {r}")
    if done.get(other, {}).get("result") != "ok":
        problems.append(f"{other} should deploy despite {host}'s fault: {done.get(other)}")
    left = leftover_processes(tb, children)
    orphans += len(left)
    if left:
        problems.append(f"processes of the run left behind: {left}")
    if not children:
        problems.append("fleet had no child processes at the cut: the orphan check proved nothing")
    # With the fault cleared, retrying only the failed host succeeds and switches it.
    rc2, ev2, err2 = tb.fleet("deploy", "--retry-failed", "--build-local")
    started = next((e for e in ev2 if e["type"] == "run_started"), {})
    if rc2 != 0 or started.get("hosts") != [host]:
        problems.append(f"--retry-failed: exit {rc2}, hosts {started.get('hosts')}: {err2}")
    system = tb.status()[host]["current_system"] or ""
    if not system.endswith(tb.gen(gen)):
        problems.append(f"{host} runs {system}, not generation {gen} after the retry")
    return problems, orphans


def copy_started(host):
    return lambda e: e["type"] == "stage_started" and e.get("host") == host and e.get("stage") == "copy"


def activation_hangs(host):
    return lambda e: e["type"] == "log" and e.get("host") == host and f"activation of {host} hangs" in e.get("line", "")


def test_ssh_dropped_mid_copy(tb):
    problems, orphans, runs = [], 0, iterations(1, 5)
    for _ in range(runs):
        tb.fault("tb1", "slow-copy", "2mbit")
        p, o = check_cut_and_retry(tb, "tb1", "copy", copy_started("tb1"))
        problems += p
        orphans += o
    record("ssh_dropped_mid_copy", runs=runs, orphans=orphans)
    assert problems == [], "\n".join(problems)


def test_ssh_dropped_mid_activation(tb):
    problems, orphans, runs = [], 0, iterations(1, 5)
    for _ in range(runs):
        p, o = check_cut_and_retry(tb, "tb2", "activate", activation_hangs("tb2"), fault="activation-hang")
        problems += p
        orphans += o
    record("ssh_dropped_mid_activation", runs=runs, orphans=orphans)
    assert problems == [], "\n".join(problems)


def test_ui_signals_leave_no_orphans(tb, pane):
    signals = [signal.SIGTERM, signal.SIGHUP, signal.SIGINT] * 2 if STRESS else [signal.SIGTERM]
    env = {"FLEET_SSH_CONFIG": os.path.join(tb.dir, "ssh_config"), "FLEET_BUILD_FLAKE": "path:" + tb.flake,
           "NIX_CONFIG": NIX_CONFIG, "XDG_STATE_HOME": tb.state, "TMPDIR": tb.tmp}
    prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    problems, orphans = [], 0
    for sig in signals:
        next_generation(tb)
        tb.fault("tb1", "activation-hang")
        try:
            pane.type_line("clear")
            pane.wait_for("EXIT=", absent=True)  # the previous round's exit line is gone
            pane.start_fleet(args=f"--inventory {tb.inventory}", env=prefix)
            pane.wait_for("tb2")
            pane.send("Space")
            pane.wait_for("1 marked")
            pane.send("d")
            pane.wait_for("Deploy 1 machine")
            pane.send("y")
            # Wait until tb1's activation hangs on the host: fleet has ssh (and nix) children now.
            wait_until(lambda: any(l.strip().startswith(("tb1", "▶ tb1")) and " activate " in l
                                   for l in pane.capture().splitlines()), 90,
                       message=lambda: "tb1 never reached activate:\n" + pane.capture())
            [fleet_pid] = pane.child_pids()
            children = wait_until(lambda: descendants(fleet_pid), 30,
                                  message="fleet has no child process while tb1's activation hangs")
            os.kill(fleet_pid, sig)
            code = pane.wait_for_exit(timeout=30)
            if code == 0:
                problems.append(f"{sig.name}: fleet exited 0")
            if not terminal_is_sane(pane):
                problems.append(f"{sig.name}: terminal not restored (stty)")
            # bash puts the tty modes back by itself; what only fleet can undo is the screen state:
            # alternate screen left, cursor shown, mouse reporting and keypad mode off.
            flags = pane.tmux("display-message", "-p", "-t", "e2e",
                              "#{alternate_on} #{cursor_flag} #{mouse_any_flag} #{mouse_button_flag} #{keypad_flag}").stdout.split()
            if flags != ["0", "1", "0", "0", "0"]:
                problems.append(f"{sig.name}: screen not restored (alternate, cursor, mouse any/button, keypad = {flags})")
            if pane.child_pids():
                problems.append(f"{sig.name}: fleet did not exit: {pane.child_pids()}")
            if not children:
                problems.append(f"{sig.name}: fleet had no children mid-deploy: the check proved nothing")
            left = leftover_processes(tb, children)
            if left:
                orphans += len(left)
                table = proc_table()
                problems.append(f"{sig.name}: left behind: {[(p, table.get(p, (0, 0, '', '?'))[3]) for p in left]}")
        finally:
            tb.fault("tb1", "clear")
    record("ui_signals_leave_no_orphans", runs=len(signals), orphans=orphans)
    assert problems == [], "\n".join(problems)
