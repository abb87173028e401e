"""Shared pieces of the fault-injection tests (issue 10): the fast/stress knob, the counters each
fault test reports for `tools/stress`'s table, and process/repository checks.

FLEET_STRESS=1 selects the long profile (more iterations, more signals). FLEET_STRESS_RESULTS=DIR
makes every fault test write DIR/<test name>.json with its real counts:
  {"runs": n, "torn_writes": n, "leaks": n, "orphans": n}
The counts are written before the test's assertions run, so a failing run still reports them."""
import json
import os
import subprocess

from tmuxdriver import REPO

STRESS = os.environ.get("FLEET_STRESS") == "1"


def iterations(fast, stress):
    return stress if STRESS else fast


def record(name, runs, torn_writes=0, leaks=0, orphans=0, **extra):
    out = os.environ.get("FLEET_STRESS_RESULTS")
    if not out:
        return
    os.makedirs(out, exist_ok=True)
    doc = {"runs": runs, "torn_writes": torn_writes, "leaks": leaks, "orphans": orphans, **extra}
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(doc, f)


def demo_workspace(path):
    """A private git copy of the demo clan (tools/demo-workspace); returns (dir, admin key file)."""
    subprocess.run([os.path.join(REPO, "tools", "demo-workspace"), str(path)], check=True, capture_output=True)
    return str(path), os.path.join(str(path), ".git", "demo-admin-keys.txt")


def ask_root_password_rotation(pane):
    """On the demo's dashboard: the Vars screen filtered to `user-password-root`, the cursor on
    cinnabar's generator (below electrum's), `R`; returns the confirmation on screen."""
    pane.send("4")
    pane.wait_for("GENERATOR / FILE")
    pane.send("/")
    pane.tmux("send-keys", "-t", "e2e", "-l", "user-password-root")
    pane.send("Enter")
    pane.wait_for("electrum")
    pane.send("j")
    pane.wait_for("▶   user-password-root")
    pane.send("R")
    return pane.wait_for("Rotate user-password-root on cinnabar?")


def git(repo, *args, check=False):
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True, check=check)


def repo_problems(repo, allow_index_lock=False):
    """What is wrong with the git repository at `repo` (empty when it is healthy and usable).
    allow_index_lock: right after git itself was killed its lock may remain; fleet must clear it."""
    problems = []
    fsck = git(repo, "fsck", "--no-progress")
    if fsck.returncode != 0:
        problems.append(f"git fsck failed: {fsck.stderr.strip() or fsck.stdout.strip()}")
    status = git(repo, "status", "--porcelain")
    if status.returncode != 0:
        problems.append(f"git status failed: {status.stderr.strip()}")
    lock = os.path.join(repo, ".git", "index.lock")
    if os.path.exists(lock) and not allow_index_lock:
        problems.append("stale .git/index.lock (git commands will refuse to run)")
    return problems


def proc_table():
    """pid -> (ppid, pgid, state, cmdline) for every process."""
    table = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{p}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        table[int(p)] = (int(fields[1]), int(fields[2]), fields[0], cmd)
    return table


def descendants(pid, table=None):
    table = table or proc_table()
    out, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for child, (ppid, _, _, _) in table.items():
            if ppid == parent and child not in out:
                out.add(child)
                todo.append(child)
    return out


def live(pids):
    """The pids of `pids` still alive (zombies count as gone: their parent reaps them)."""
    table = proc_table()
    return {p for p in pids if p in table and table[p][2] != "Z"}


def processes_mentioning(part, exclude_sshd=True):
    """Live processes whose command line contains `part` (e.g. a test's private TMPDIR, where
    fleet's ssh control sockets live). Testbed sshds are not fleet's children."""
    found = []
    for pid, (_, _, state, cmd) in proc_table().items():
        if state == "Z" or part not in cmd or pid == os.getpid():
            continue
        if exclude_sshd and ("sshd" in cmd.split(" ")[0] or cmd.startswith("sshd")):
            continue
        found.append((pid, cmd))
    return found
