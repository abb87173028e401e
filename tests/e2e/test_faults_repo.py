"""Faults against the repository (issue 10): SIGKILL during tag edits, two fleets at once on one
repository, and a full disk while a var is written. The real `fleet` binary on private git copies
of the demo clan (tools/demo-workspace); every check looks at real bytes and real git state."""
import fcntl
import json
import os
import random
import signal
import subprocess
import tempfile
import time

import pytest

from fault_support import (demo_workspace, descendants, git, iterations, processes_mentioning, record,
                           repo_problems)
from tmuxdriver import FLEET_BIN, wait_until

MACHINE = "cinnabar"
TAG = "fault-probe"


def tag_cmd(ws, op, tag=TAG, machine=MACHINE):
    return [FLEET_BIN, "tag", op, machine, tag, "--inventory", ws]


def tags_of(text, machine=MACHINE):
    return json.loads(text)["machines"][machine].get("tags", [])


def read(path):
    with open(path, "rb") as f:
        return f.read()


def kill_tree(proc, ws, with_children):
    """SIGKILL fleet, and (with_children) every process it started at that instant, as a crash of
    the whole session would (a git killed mid-commit leaves .git/index.lock behind). Then waits
    until no process started for `ws` runs any more (a git fleet started goes on without it), so
    the checks see the state that stays."""
    if with_children:
        proc.send_signal(signal.SIGSTOP)  # frozen: it starts nothing new while we list its children
        for k in descendants(proc.pid):
            try:
                os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    wait_until(lambda: not processes_mentioning(ws, exclude_sshd=False), 10, interval=0.02, fail=False)


def lock_waiters(path):
    """How many processes are blocked in flock(2) on `path`."""
    ino = f":{os.stat(path).st_ino} "
    with open("/proc/locks") as f:
        return sum(1 for line in f if " -> " in line and ino in line)


def test_sigkill_during_tag_edits(tmp_path):
    ws, _ = demo_workspace(tmp_path / "clan")
    inv = os.path.join(ws, "inventory.json")
    # Calibrate: one whole `fleet tag add` and `remove` here.
    t0 = time.monotonic()
    for op in ("add", "remove"):
        r = subprocess.run(tag_cmd(ws, op), capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    full = (time.monotonic() - t0) / 2
    rng = random.Random(int(os.environ.get("FLEET_FAULT_SEED", "10")))
    runs = iterations(20, 200)
    torn, landed, stale_locks, problems = 0, 0, 0, []
    i = 0
    # Past `runs`, keep going (up to 3×) until a kill has landed after the write: under load the
    # calibration can be too short, and a run that never hits the window tests nothing.
    while i < runs or (landed == 0 and i < 3 * runs):
        i += 1
        old = read(inv)
        op = "remove" if TAG in tags_of(old) else "add"
        p = subprocess.Popen(tag_cmd(ws, op), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, full * 1.2))
        kill_tree(p, ws, with_children=(i % 2 == 1))
        now = read(inv)
        try:
            now_tags = tags_of(now)
        except (ValueError, KeyError) as e:
            torn += 1
            problems.append(f"run {i}: inventory.json does not parse: {e}")
            continue
        if now != old:
            landed += 1
            if (TAG in now_tags) != (op == "add") or [t for t in now_tags if t != TAG] != [t for t in tags_of(old) if t != TAG]:
                torn += 1
                problems.append(f"run {i}: inventory.json is neither the old nor the new content")
        stale_locks += os.path.exists(os.path.join(ws, ".git", "index.lock"))
        bad = repo_problems(ws, allow_index_lock=True)
        if bad:
            torn += 1
            problems.append(f"run {i} ({op}, killed {'with children' if i % 2 else 'alone'}): " + "; ".join(bad))
            break
        # A following `fleet tag` succeeds and leaves the wanted content committed.
        t0 = time.monotonic()
        r = subprocess.run(tag_cmd(ws, op), capture_output=True, text=True)
        if now == old:    # the retry did the whole edit: a calibration under the load of this moment
            full = max(full, time.monotonic() - t0)
        if r.returncode != 0:
            torn += 1
            problems.append(f"run {i}: the next fleet tag {op} failed: {r.stderr.strip()}")
            break
        final = read(inv)
        # A kill between the write and the commit leaves the new content uncommitted (clan's writer
        # behaves the same: the retry finds the tag already set and changes nothing); anything else in
        # `git status` (a stray temporary, another file) is junk fleet left behind.
        status = [l for l in git(ws, "status", "--porcelain").stdout.splitlines() if l[3:] != "inventory.json"]
        status += repo_problems(ws)
        if (TAG in tags_of(final)) != (op == "add") or status:
            torn += 1
            problems.append(f"run {i}: after the retry: tags {tags_of(final)}, status {status}")
    record("sigkill_during_tag_edits", runs=i, torn_writes=torn, landed=landed, stale_index_locks_recovered=stale_locks)
    assert problems == [], "\n".join(problems)
    assert landed > 0, "no kill landed after the write: the test exercised nothing"
    assert not [n for n in os.listdir(ws) if n.startswith("inventory.json.")], os.listdir(ws)


def test_concurrent_fleet_serialised_by_clan_lock(tmp_path):
    ws, keys = demo_workspace(tmp_path / "clan")
    inv = os.path.join(ws, "inventory.json")
    env = dict(os.environ, SOPS_AGE_KEY_FILE=keys, SOPS_AGE_KEY="", XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    lock_path = os.path.join(ws, ".git", "clan.lock")
    runs = iterations(3, 30)
    lost = 0
    problems = []
    for i in range(runs):
        a, b = f"conc-a{i}", f"conc-b{i}"
        commits_before = int(git(ws, "rev-list", "--count", "HEAD").stdout)
        secret_rel = f"vars/per-machine/{MACHINE}/openssh/ssh.id_ed25519/secret"
        old_secret = read(os.path.join(ws, secret_rel))
        # Hold clan's lock ourselves, start three fleets, check none wrote anything, then let go:
        # they must queue on the lock and all finish, one commit each.
        with open(lock_path, "a") as lf:
            fcntl.flock(lf, fcntl.LOCK_EX)
            procs = [subprocess.Popen(tag_cmd(ws, "add", a), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
                     subprocess.Popen(tag_cmd(ws, "add", b), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
                     subprocess.Popen([FLEET_BIN, "vars", "rotate", MACHINE, "-g", "openssh", "--repo", ws],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)]
            # Wait until all three block on the lock (flock waiters show as "->" in /proc/locks).
            wait_until(lambda: lock_waiters(lock_path) >= len(procs), 30, fail=False)
            waiting = [p.poll() is None for p in procs]
            unchanged = a not in tags_of(read(inv)) and b not in tags_of(read(inv)) and read(os.path.join(ws, secret_rel)) == old_secret
            fcntl.flock(lf, fcntl.LOCK_UN)
        outs = [p.communicate(timeout=120) for p in procs]
        if not all(waiting) or not unchanged:
            problems.append(f"run {i}: a fleet went ahead while clan.lock was held (waiting={waiting})")
        for p, (out, err) in zip(procs, outs):
            if p.returncode != 0:
                problems.append(f"run {i}: {p.args[1:3]} exited {p.returncode}: {err.strip()}")
        tags = tags_of(read(inv))
        if a not in tags or b not in tags:
            lost += 1
            problems.append(f"run {i}: lost update, tags now {tags}")
        log = git(ws, "log", "--format=%s", "-4", "HEAD").stdout.splitlines()
        commits = int(git(ws, "rev-list", "--count", "HEAD").stdout) - commits_before
        # Rotating openssh regenerates openssh-cert too: two commits, taken under one hold of the lock
        # (adjacent in the log), plus one per tag.
        rot = [f"vars: update via generator openssh-cert (machine: {MACHINE})", f"vars: update via generator openssh (machine: {MACHINE})"]
        if commits != 4 or not any(log[k:k + 2] == rot for k in range(3)):
            problems.append(f"run {i}: {commits} commits, expected 4 with the rotation's two adjacent: {log[:4]}")
        if f"inventory.json: add tag {a} to machine {MACHINE}" not in log or f"inventory.json: add tag {b} to machine {MACHINE}" not in log:
            problems.append(f"run {i}: tag commits missing: {log[:4]}")
        if git(ws, "status", "--porcelain").stdout != "" or repo_problems(ws):
            problems.append(f"run {i}: repository not clean: {git(ws, 'status', '--porcelain').stdout} {repo_problems(ws)}")
        if read(os.path.join(ws, secret_rel)) == old_secret:
            problems.append(f"run {i}: the rotation did not change {secret_rel}")
    record("concurrent_fleet_serialised_by_clan_lock", runs=runs, torn_writes=lost)
    assert problems == [], "\n".join(problems)


# ---------------------------------------------------------------- disk full

PW_GEN = "user-password-root"
PW_VAR = f"vars/per-machine/{MACHINE}/{PW_GEN}"


def var_bytes(ws, rel):
    out = {}
    for root, dirs, files in os.walk(os.path.join(ws, rel)):
        for f in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            p = os.path.join(root, f)
            out[os.path.relpath(p, ws)] = ("-> " + os.readlink(p)).encode() if os.path.islink(p) else read(p)
    return out


@pytest.fixture
def small_tmpfs():
    if os.geteuid() != 0:
        raise AssertionError("the disk-full test needs root (it mounts a small tmpfs)")
    d = tempfile.mkdtemp(prefix="fleet-full-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", d], check=True)
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", d], check=False)
        os.rmdir(d)


def fill(path, leave):
    """Fills the filesystem holding `path`, then frees `leave` bytes again."""
    filler = os.path.join(path, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in (65536, 4096, 512, 1):
            try:
                while os.write(fd, b"\0" * chunk) > 0:
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)
    if leave:
        size = os.path.getsize(filler)
        os.truncate(filler, max(0, size - leave))
    return filler


def test_disk_full_while_writing_a_var(small_tmpfs, tmp_path):
    ws, keys = demo_workspace(os.path.join(small_tmpfs, "clan"))
    env = dict(os.environ, SOPS_AGE_KEY_FILE=keys, SOPS_AGE_KEY="", XDG_CONFIG_HOME=str(tmp_path / "cfg"),
               XDG_STATE_HOME=str(tmp_path / "state"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    argv = [FLEET_BIN, "vars", "rotate", MACHINE, "-g", PW_GEN, "--repo", ws,
            "--prompt-value", f"{PW_GEN}.user-password=@-"]
    # Free space left after filling: none at all, then amounts that let the write get further.
    # (here: up to ~8K the var write fails, up to ~64K git's, with 1M the rotation goes through).
    leaves = [0, 4096, 16384, 65536] + ([1024 * k for k in (1, 2, 3, 6, 8, 12, 24, 32, 48, 96, 128, 256, 1024)] if iterations(0, 1) else [])
    problems, torn, failed = [], 0, 0
    for leave in leaves:
        old = var_bytes(ws, PW_VAR)
        head = git(ws, "rev-parse", "HEAD").stdout
        filler = fill(small_tmpfs, leave)
        try:
            r = subprocess.run(argv, input="Disk-Full-Pw-" + str(leave), capture_output=True, text=True, env=env, timeout=60)
        finally:
            os.unlink(filler)
        now = var_bytes(ws, PW_VAR)
        if r.returncode != 0:
            failed += 1
            if now != old:
                torn += 1
                problems.append(f"leave={leave}: failed (exit {r.returncode}) but the var changed")
            # The var writer says "No space left on device"; git says "Out of diskspace".
            if not ("No space left on device" in r.stderr or "Out of diskspace" in r.stderr) or (ws + "/" not in r.stderr and PW_VAR not in r.stderr):
                problems.append(f"leave={leave}: error does not name the file and the cause: {r.stderr.strip()!r}")
            if "Fatal error" in r.stderr or r.returncode < 0:
                problems.append(f"leave={leave}: crashed: {r.stderr.strip()!r}")
        elif git(ws, "rev-parse", "HEAD").stdout == head:
            problems.append(f"leave={leave}: exit 0 but nothing committed")
        bad = repo_problems(ws)
        if bad:
            problems.append(f"leave={leave}: " + "; ".join(bad))
        # With space again, the same rotation succeeds and commits.
        r2 = subprocess.run(argv, input="Disk-Full-Pw-ok", capture_output=True, text=True, env=env, timeout=60)
        if r2.returncode != 0:
            problems.append(f"leave={leave}: rotation after freeing space failed: {r2.stderr.strip()}")
        elif git(ws, "status", "--porcelain").stdout != "":
            problems.append(f"leave={leave}: repository dirty after a good rotation: {git(ws, 'status', '--porcelain').stdout}")
        got = subprocess.run([FLEET_BIN, "vars", "get", MACHINE, f"{PW_GEN}/user-password", "--repo", ws],
                             capture_output=True, text=True, env=env)
        if got.stdout.strip() != "Disk-Full-Pw-ok":
            problems.append(f"leave={leave}: the var does not decrypt to the last rotation's value")
    record("disk_full_while_writing_a_var", runs=len(leaves), torn_writes=torn, failed=failed)
    assert problems == [], "\n".join(problems)
    assert failed > 0, "the full disk never made a rotation fail: the test exercised nothing"
