"""Issue 14's whole picture on real testbed hosts, in one `fleet deploy`: tb1 builds here (clan's
deploy.buildHost = "localhost"), tb2 on a separate build host (bld), tb3 and tb4 on themselves, tb4
reached as a non-root user through sudo. All activate and verify; each host's stage list says where
it built; the history records the run. Root only (namespaces), no password prompt (passwordless sudo;
the prompt is test_deploy_auth.py's)."""
import json
import os
import re
import shlex
import sqlite3
import subprocess

import pytest

from testbed_support import NIX_CONFIG, DeployTestbed, finished, run_summary, stage_result
from tmuxdriver import wait_until


def store_has(tb, host, path):
    """`path` is in testbed host `host`'s own /nix/store (each host has a private store)."""
    return os.path.exists(os.path.join(tb.dir, "hosts", host, "nix", path.lstrip("/").split("/", 1)[1]))


@pytest.fixture(scope="module")
def tb():
    t = DeployTestbed(4, helpers=["bld"], deploy={
        "tb1": {"buildHost": "localhost"},
        "tb2": {"buildHost": "root@bld"},
        "tb4": {"targetHost": "bob@tb4"},
    })
    try:
        r = subprocess.run(t.tb_argv("user", "tb4", "bob", "--nopasswd"), capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        yield t
    finally:
        t.close()


def test_four_hosts_build_where_configured_and_all_activate(tb):
    rc, events, err = tb.fleet("deploy")
    assert rc == 0, err + "\n" + json.dumps(run_summary(events))
    done = finished(events)
    status = tb.status()
    for h in tb.names:
        assert done[h]["result"] == "ok", done[h]
        assert status[h]["current_system"] == done[h]["system"], h
        assert stage_result(events, h, "verify")["result"] == "ok"
    plans = {e["host"]: e for e in events if e["type"] == "resolved"}
    assert plans["tb4"]["target"] == "bob@tb4"
    assert {h: plans[h]["build"] for h in tb.names} == {"tb1": "local", "tb2": "root@bld", "tb3": "target", "tb4": "target"}

    run_id = run_summary(events)["id"]
    with sqlite3.connect(tb.history()) as db:
        hosts = db.execute("SELECT host, result FROM hostRun WHERE deployID = ? ORDER BY host", (run_id,)).fetchall()
        built = dict(db.execute("SELECT host, message FROM stageRun WHERE deployID = ? AND stage = 'build'", (run_id,)).fetchall())
    assert hosts == [(h, "ok") for h in tb.names]
    assert "locally" in built["tb1"], built
    assert "on the build host root@bld" in built["tb2"], built
    assert "on the target root@tb3" in built["tb3"], built
    assert "on the target bob@tb4" in built["tb4"], built
    # The non-root target's system profile and boot entry are the new system (set through sudo).
    assert status["tb4"]["profile"] == done["tb4"]["system"]
    # As clan (update.py:640-646): on a non-root target the build runs as root through `sudo -A` with
    # the askpass session (the derivations were copied as bob); a root target builds as root.
    build_logs = {h: [e["line"] for e in events if e["type"] == "log" and e["host"] == h and e.get("stage") == "build"]
                  for h in ("tb3", "tb4")}
    [tb4_cmd] = [l for l in build_logs["tb4"] if l.startswith("$ ")]
    assert tb4_cmd.startswith("$ env SUDO_ASKPASS=") and " sudo -A -- nix " in tb4_cmd and " build " in tb4_cmd, tb4_cmd
    [tb3_cmd] = [l for l in build_logs["tb3"] if l.startswith("$ ")]
    assert tb3_cmd.startswith("$ nix ") and "sudo" not in tb3_cmd, tb3_cmd

    # Where it built, from the stores themselves (not only the messages): tb1's system was built in
    # this machine's store; tb2's on bld (and copied from there to tb2), never here; tb3's and tb4's
    # on themselves only.
    systems = {h: done[h]["system"] for h in tb.names}
    assert os.path.exists(systems["tb1"]) and not store_has(tb, "bld", systems["tb1"])
    assert store_has(tb, "bld", systems["tb2"]) and not os.path.exists(systems["tb2"])
    for h in ("tb3", "tb4"):
        assert not os.path.exists(systems[h]) and not store_has(tb, "bld", systems[h]), h
    for h in tb.names:
        assert store_has(tb, h, systems[h]), h
    copied = {h: stage_result(events, h, "copy") for h in tb.names}
    assert copied["tb1"]["result"] == "ok" and copied["tb1"]["message"].startswith("copied "), copied["tb1"]
    assert copied["tb2"]["message"].startswith("copied from the build host root@bld"), copied["tb2"]
    assert copied["tb3"]["message"] == copied["tb4"]["message"] == "built on the target: nothing to copy", copied

    # Activation as clan's: boot, then switch, of the new system, on every host.
    for h in tb.names:
        with open(status[h]["activations_log"]) as f:
            runs = [line.split("\t") for line in f.read().splitlines()]
        assert [(r[1], r[2], r[3]) for r in runs[-2:]] == [("boot", systems[h], "ok"), ("switch", systems[h], "ok")], (h, runs)

    # tb4: fleet logged in as bob only, and every root command ran through sudo -A (askpass).
    with open(status["tb4"]["sshd_log"]) as f:
        logins = [l for l in f.read().splitlines() if "Accepted publickey for " in l]
    assert logins and all("Accepted publickey for bob " in l for l in logins), logins
    activate_cmds = [e["line"] for e in events if e["type"] == "log" and e["host"] == "tb4" and e.get("stage") == "activate"
                     and e["line"].startswith("$ ")]
    root_cmds = [c for c in activate_cmds if "nix-env" in c or "switch-to-configuration" in c]
    assert len(root_cmds) >= 3, activate_cmds   # nix-env --set, boot, switch
    assert all(c.startswith("$ env SUDO_ASKPASS=") and " sudo -A -- " in c for c in root_cmds), root_cmds

    # The history's stage list of each host, in order, ends verified, and its build row says where.
    with sqlite3.connect(tb.history()) as db:
        for h in tb.names:
            stages = db.execute("SELECT stage, result FROM stageRun WHERE deployID = ? AND host = ? ORDER BY rowid",
                                (run_id, h)).fetchall()
            assert [s for s, _ in stages] == ["resolve", "connect", "secrets", "build", "copy", "activate", "verify"], (h, stages)
            assert all(r in ("ok", "skipped") for _, r in stages) and stages[-1] == ("verify", "ok"), (h, stages)


def test_the_dashboard_shows_where_each_host_builds(tb, pane):
    """The same mix from the keyboard: the Deploy screen's BUILDS ON column says where each host
    builds while it deploys, and the History screen's recorded stage list says where it built."""
    tb.set_generation("ui")   # every host builds anew, whatever ran before
    env = {"FLEET_SSH_CONFIG": os.path.join(tb.dir, "ssh_config"), "FLEET_BUILD_FLAKE": "path:" + tb.flake,
           "NIX_CONFIG": NIX_CONFIG, "XDG_STATE_HOME": tb.state, "TMPDIR": tb.tmp, "FLEET_NO_PROBES": "1"}
    pane.start_fleet(args=f"--inventory {tb.inventory}", env=" ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()))
    pane.wait_for("tb4")
    for _ in tb.names:
        pane.send("Space")
    pane.wait_for("4 marked")
    pane.send("d")
    pane.wait_for("Deploy 4 machines?")
    pane.send("y")
    screen = wait_until(lambda: (lambda s: s if "4 ok, 0 failed" in s else None)(pane.capture()), 180, message=pane.capture)
    rows = {}
    for line in screen.splitlines():
        words = line.replace("▶", " ").split()
        if words and words[0] in tb.names:
            rows[words[0]] = line
    assert set(rows) == set(tb.names), screen
    header = next(l for l in screen.splitlines() if "BUILDS ON" in l)
    col = header.index("BUILDS ON")
    builds_on = {h: rows[h][col:col + 12].split()[0] for h in tb.names}
    assert builds_on == {"tb1": "local", "tb2": "root@bld", "tb3": "target", "tb4": "target"}, screen
    status = tb.status()
    for h in tb.names:
        assert tb.gen("ui") in (status[h]["current_system"] or ""), (h, status[h])
    # The History screen: the run's recorded stage list says where each host built.
    pane.send("6")
    pane.wait_for("STARTED")
    pane.send("Enter")
    pane.wait_for("== tb1: ok")
    seen, last = [], None
    for _ in range(60):   # page through the recorded logs (space pages down) to their end
        page = pane.capture()
        if page == last:
            break
        seen += [l.strip() for l in page.splitlines()]
        last = page
        pane.send("Space")
        wait_until(lambda: pane.capture() != page, 2, fail=False)
    text = "\n".join(seen)
    # One section per host ("== tb1: ok", then its stages "== resolve: ok (…) …" and their logs).
    parts = re.split(r"== (tb\d): ok", text)
    sections = {}
    for h, body in zip(parts[1::2], parts[2::2]):
        sections[h] = sections.get(h, "") + body
    assert set(sections) == set(tb.names), text
    assert "builds locally (deploy.buildHost)" in sections["tb1"], text
    assert "builds on root@bld (deploy.buildHost)" in sections["tb2"], text
    for h in ("tb3", "tb4"):
        assert "builds on the target (default)" in sections[h], (h, text)
    for h in tb.names:
        assert "== verify: ok" in sections[h], (h, text)
    pane.send("Escape")
    pane.send("q")
    assert pane.wait_for_exit() == 0
