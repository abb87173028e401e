"""Where a deploy builds and how it activates, for real on testbed hosts (issue 14): clan's default
build on the target (the host's own nix builds), a separate build-host namespace serving two
targets, a local build, a local deploy of the machine fleet runs on (no ssh), and a failed live
switch after a successful `switch-to-configuration boot`. Root only.

The tests share one testbed (tb1..tb4 in the inventory, `bld` a build host that is not a machine)
and run in file order."""
import json
import os
import sqlite3
import subprocess

import pytest

from testbed_support import DeployTestbed, finished, run_summary, stage_result
from tmuxdriver import FLEET_BIN


@pytest.fixture(scope="module")
def tb():
    # tb1 builds here (clan: deploy.buildHost = "localhost"), tb2 and tb3 on the build host bld,
    # tb4 on itself (no buildHost: clan's default).
    t = DeployTestbed(4, helpers=["bld"], deploy={
        "tb1": {"buildHost": "localhost"},
        "tb2": {"buildHost": "root@bld"},
        "tb3": {"buildHost": "root@bld"},
    })
    try:
        yield t
    finally:
        t.close()


def store_has(tb, host, path):
    return os.path.exists(os.path.join(tb.dir, "hosts", host, "nix", path.lstrip("/").split("/", 1)[1]))


def test_each_host_builds_where_clan_would(tb):
    # A generation of its own: every host builds and copies, whichever test ran before.
    tb.set_generation("placement")
    before = tb.connections()
    rc, events, err = tb.fleet("deploy")
    assert rc == 0, err + "\n" + json.dumps(run_summary(events))
    done = finished(events)
    status = tb.status()
    plans = {e["host"]: e for e in events if e["type"] == "resolved"}
    assert {h: (plans[h]["build"], plans[h]["build_source"]) for h in tb.names} == {
        "tb1": ("local", "deploy.buildHost"), "tb2": ("root@bld", "deploy.buildHost"),
        "tb3": ("root@bld", "deploy.buildHost"), "tb4": ("target", "default")}
    assert all(p["target_source"] == "deploy.targetHost" for p in plans.values())
    for h in tb.names:
        assert done[h]["result"] == "ok", done[h]
        assert status[h]["current_system"] == done[h]["system"], h
        assert status[h]["profile"] == done[h]["system"], h

    build = {h: stage_result(events, h, "build")["message"] for h in tb.names}
    copy = {h: stage_result(events, h, "copy")["message"] for h in tb.names}
    assert "built locally" in build["tb1"], build
    assert copy["tb1"].startswith("copied "), copy
    for h in ("tb2", "tb3"):
        assert build[h].endswith("built on the build host root@bld)"), build
        assert copy[h].startswith("copied from the build host root@bld"), copy
        # The build host built it and copied it on: both stores hold the system.
        assert store_has(tb, "bld", done[h]["system"]) and store_has(tb, h, done[h]["system"]), h
    assert build["tb4"].endswith("built on the target root@tb4)"), build
    assert copy["tb4"] == "built on the target: nothing to copy"
    assert store_has(tb, "tb4", done["tb4"]["system"])
    assert not store_has(tb, "bld", done["tb4"]["system"])
    # The build host is not the target: nothing of tb1/tb4 went there; it got no system of its own.
    assert tb.status()["bld"]["current_system"] is None

    # One handshake per target from fleet; the build host's copy adds one from bld to each of its
    # targets (clan's copy runs its own ssh on the build host); bld itself: one master for both.
    after = tb.connections()
    delta = {h: after[h] - before[h] for h in tb.names + ["bld"]}
    assert delta == {"tb1": 1, "tb2": 2, "tb3": 2, "tb4": 1, "bld": 1}, delta

    # Activation like clan: boot, then switch, on every host.
    for h in tb.names:
        with open(status[h]["activations_log"]) as f:
            actions = [line.split("\t")[1] for line in f.read().splitlines()]
        assert actions[-2:] == ["boot", "switch"], (h, actions)

    # History keeps the stage list, which says where each host built.
    with sqlite3.connect(tb.history()) as db:
        rows = dict(db.execute("SELECT host, message FROM stageRun WHERE deployID = ? AND stage = 'build'",
                               (run_summary(events)["id"],)).fetchall())
    assert "built locally" in rows["tb1"] and "on the build host root@bld" in rows["tb2"] and "on the target root@tb4" in rows["tb4"], rows


def test_text_output_and_dry_run_say_where_it_builds(tb):
    tb.set_generation("2")
    running = {h: s["current_system"] for h, s in tb.status().items() if h in tb.names}
    r = subprocess.run(tb.fleet_args("deploy", "--dry-run"), capture_output=True, text=True, env=tb.env(), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "[tb1] target root@tb1 (deploy.targetHost); builds locally (deploy.buildHost); activates with nix-env --set, switch-to-configuration boot, then switch" in out, out
    assert "[tb2] target root@tb2 (deploy.targetHost); builds on root@bld (deploy.buildHost)" in out, out
    assert "[tb4] target root@tb4 (deploy.targetHost); builds on the target (default)" in out, out
    assert "would run: " in out and "switch-to-configuration boot" in out
    # --build-host and --build-local override the inventory, as clan's --build-host does.
    rc, events, err = tb.fleet("deploy", "--dry-run", "--build-local", "tb2")
    assert rc == 0, err
    assert next(e for e in events if e["type"] == "resolved")["build"] == "local"
    rc, events, err = tb.fleet("deploy", "--dry-run", "--build-host", "root@bld", "tb4")
    assert rc == 0, err
    plan = next(e for e in events if e["type"] == "resolved")
    assert (plan["build"], plan["build_source"]) == ("root@bld", "--build-host")
    # Nothing changed.
    assert {h: s["current_system"] for h, s in tb.status().items() if h in tb.names} == running


def test_nix_options_reach_the_remote_build(tb):
    # max-jobs 0 forbids building: the target's nix refuses, so --option reached it. A generation
    # of its own, so there is something to build whichever test ran before.
    tb.set_generation("options", ["tb4"])
    rc, events, err = tb.fleet("deploy", "tb4", "--option", "max-jobs", "0")
    assert rc == 1, err
    f = finished(events)["tb4"]
    assert f["failed_stage"] == "build", f
    assert "max-jobs" in f["error"], f
    rc, events, err = tb.fleet("deploy", "tb4", "--option", "max-jobs", "1", "--option", "cores", "1")
    assert rc == 0, err
    rc, events, err = tb.fleet("deploy", "tb4", "--option", "max-jobs")
    assert rc != 0 and "--option takes a name and a value" in err, err


def test_failed_switch_after_boot_leaves_new_system_as_boot_default(tb):
    tb.set_generation("3", ["tb4"])
    before = tb.status()["tb4"]
    tb.fault("tb4", "switch-fail")
    try:
        rc, events, err = tb.fleet("deploy", "tb4")
    finally:
        tb.fault("tb4", "clear")
    assert rc == 1, err
    f = finished(events)["tb4"]
    assert f["failed_stage"] == "activate", f
    assert "switch-to-configuration switch failed on 'tb4'" in f["error"] and "is the boot default" in f["error"], f
    new = stage_result(events, "tb4", "build")["message"].split(" ")[0]
    assert new.endswith(tb.gen("3"))
    after = tb.status()["tb4"]
    assert after["current_system"] == before["current_system"], "the live switch failed"
    assert after["profile"] == new, "the profile is the new generation"
    boot = os.readlink(os.path.join(tb.dir, "hosts", "tb4", "var-lib", "testbed", "boot-system"))
    assert boot == new, "switch-to-configuration boot registered the new system"
    # clan retries the switch once before giving up.
    with open(after["activations_log"]) as fh:
        tail = [line.split("\t")[1:] for line in fh.read().splitlines()[-3:]]
    assert [t[0] for t in tail] == ["boot", "switch", "switch"] and [t[2] for t in tail] == ["ok", "failed", "failed"], tail

    # Inhibitors: clan's "reboot required" answer, no retry.
    tb.fault("tb4", "switch-fail", "inhibit")
    try:
        rc, events, err = tb.fleet("deploy", "tb4")
    finally:
        tb.fault("tb4", "clear")
    assert rc == 1
    f = finished(events)["tb4"]
    assert f["error"].startswith("[tb4] activate failed: reboot required: live-switching 'tb4' was blocked by switch inhibitors"), f
    # Cleared: the deploy completes.
    rc, events, err = tb.fleet("deploy", "tb4")
    assert rc == 0, err
    assert tb.status()["tb4"]["current_system"] == new


def test_local_deploy_of_the_machine_fleet_runs_on(tb):
    """fleet runs inside tb1 (its network, mount and uts namespaces: its own /nix and /run) and
    deploys tb1 with target `localhost`: no ssh, built with the local nix, activated in place."""
    tb.set_generation("4", ["tb1"])
    conns = tb.connections()["tb1"]
    argv = tb.tb_argv("exec", "tb1") + ["--", "env", *[f"{k}={v}" for k, v in tb.env().items() if k in ("NIX_CONFIG", "XDG_STATE_HOME", "TMPDIR", "PATH", "HOME")],
                      *tb.fleet_args("deploy", "tb1", "--target", "tb1=localhost", "--json")]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    events = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert r.returncode == 0, r.stderr + r.stdout[-3000:]
    done = finished(events)["tb1"]
    plan = next(e for e in events if e["type"] == "resolved")
    assert (plan["target"], plan["target_source"], plan["build"]) == ("localhost", "--target", "local")
    assert stage_result(events, "tb1", "copy")["message"].startswith("the target is this machine"), events
    assert tb.status()["tb1"]["current_system"] == done["system"]
    assert done["system"].endswith(tb.gen("4"))
    assert tb.connections()["tb1"] == conns, "a local deploy opens no ssh connection"
