"""Deploys to real testbed hosts (network namespaces running sshd, each with its own /nix store)
with the real `fleet deploy` / `fleet rollback`, the Debian nix and OpenSSH. Root only.

The tests share one 4-host testbed (bringing it up is the slow part), but none relies on what
another left behind: each sets the generation it deploys and, where it needs hosts already running
something, deploys that first — so any one of them passes alone (`pytest -k <name>`) and in any
order."""
import os
import signal
import sqlite3
import subprocess
import json
import time

import pytest

from fault_support import descendants, proc_table, processes_mentioning
from testbed_support import DeployTestbed, finished, run_summary, stage_result
from tmuxdriver import wait_until



@pytest.fixture(scope="module")
def tb():
    t = DeployTestbed(4)
    try:
        yield t
    finally:
        t.close()


def deployed(tb, gen):
    """Every host runs generation `gen` (deployed now unless it already runs it); its systems."""
    tb.set_generation(gen)
    rc, events, err = tb.fleet("deploy")
    assert rc == 0, err
    return {h: r["system"] for h, r in finished(events).items()}


def test_parallel_deploy_of_four_hosts(tb):
    # A generation no other test deploys, so the run changes every host whatever ran before.
    tb.set_generation("parallel")
    generations = {h: s["profile_generation"] or 0 for h, s in tb.status().items()}
    before = tb.connections()
    rc, events, err = tb.fleet("deploy")
    assert rc == 0, err + "\n" + json.dumps(run_summary(events))
    done = finished(events)
    assert sorted(done) == tb.names
    # In parallel: every host had connected before the first host finished.
    first_finish = min(i for i, e in enumerate(events) if e["type"] == "host_finished")
    connected = {e["host"] for e in events[:first_finish] if e["type"] == "stage_started" and e.get("stage") == "connect"}
    assert connected == set(tb.names)

    status = tb.status()
    for h in tb.names:
        system = done[h]["system"]
        assert done[h]["result"] == "ok"
        assert system.endswith(f"-nixos-system-{h}-testbed-{tb.gen('parallel')}")
        assert status[h]["current_system"] == system, h
        assert status[h]["profile"] == system, h
        assert status[h]["profile_generation"] == generations[h] + 1
        # clan's default: the target builds with its own nix (derivations copied there first).
        build = stage_result(events, h, "build")["message"]
        assert build.endswith(f"derivation(s) built on the target root@{h})"), build
        assert stage_result(events, h, "copy")["message"] == "built on the target: nothing to copy"
    # The testbed host's own nix built it: the paths are in its store, not only in ours.
    for h in tb.names:
        assert os.path.exists(os.path.join(tb.dir, "hosts", h, "nix", done[h]["system"].lstrip("/").split("/", 1)[1])), h
    # One ssh handshake per host for the whole deploy (connect, derivation copy and build on the
    # target, activate, verify).
    after = tb.connections()
    assert {h: after[h] - before[h] for h in tb.names} == {h: 1 for h in tb.names}

    run_id = run_summary(events)["id"]
    with sqlite3.connect(tb.history()) as db:
        rows = db.execute("SELECT host, result FROM hostRun WHERE deployID = ? ORDER BY host", (run_id,)).fetchall()
        stages = db.execute("SELECT DISTINCT stage FROM stageRun WHERE deployID = ?", (run_id,)).fetchall()
    assert rows == [(h, "ok") for h in tb.names]
    assert {s for (s,) in stages} == {"resolve", "connect", "secrets", "build", "copy", "activate", "verify"}


def test_unchanged_redeploy_copies_nothing(tb):
    deployed(tb, "1")
    before = tb.connections()
    # --build-local: one shared local nix build for every host, then a closure copy per host.
    rc, events, err = tb.fleet("deploy", "--build-local")
    assert rc == 0, err
    for h in tb.names:
        assert stage_result(events, h, "build")["message"].endswith("(built locally with the other hosts)"), "one shared nix build"
        copy = stage_result(events, h, "copy")
        assert copy["result"] == "ok"
        assert copy["message"].startswith("nothing to copy"), copy
    after = tb.connections()
    assert {h: after[h] - before[h] for h in tb.names} == {h: 1 for h in tb.names}
    # The text output says so too, with clan's [machine] prefix.
    r = subprocess.run(tb.fleet_args("deploy", "tb1", "--build-local"), capture_output=True, text=True, env=tb.env(), timeout=60)
    assert r.returncode == 0, r.stderr
    assert "[tb1] copy ok" in r.stdout and "nothing to copy (host has all" in r.stdout, r.stdout


def test_faults_fail_per_host_and_retry_failed_succeeds(tb):
    running = deployed(tb, "1")
    tb.set_generation("2")
    tb.fault("tb1", "down")
    tb.fault("tb2", "wrong-hostkey")
    tb.fault("tb3", "activation-fail")
    try:
        rc, events, err = tb.fleet("deploy")
    finally:
        for h in ("tb1", "tb2", "tb3"):
            tb.fault(h, "clear")
    assert rc == 1, err
    done = finished(events)
    assert done["tb4"]["result"] == "ok"
    assert done["tb4"]["system"].endswith(f"-nixos-system-tb4-testbed-{tb.gen('2')}")
    assert tb.status()["tb4"]["current_system"] == done["tb4"]["system"]

    errors = {h: done[h]["error"] for h in ("tb1", "tb2", "tb3")}
    assert done["tb1"]["failed_stage"] == "connect"
    assert errors["tb1"].startswith("[tb1] connect failed: ") and "No route to host" in errors["tb1"], errors
    assert done["tb2"]["failed_stage"] == "connect"
    assert errors["tb2"].startswith("[tb2] connect failed: host key mismatch"), errors
    assert done["tb3"]["failed_stage"] == "activate"
    # clan registers the boot entry first: the fault fails that step, so nothing changed.
    assert errors["tb3"].startswith("[tb3] activate failed: switch-to-configuration boot failed on 'tb3' (exit code 1): "), errors
    assert all("\n" not in e for e in errors.values()), "one-line errors"
    # The failed hosts still run generation 1.
    status = tb.status()
    for h in ("tb1", "tb2", "tb3"):
        assert status[h]["current_system"] == running[h]

    rc, events, err = tb.fleet("deploy", "--retry-failed")
    assert rc == 0, err
    started = next(e for e in events if e["type"] == "run_started")
    assert started["hosts"] == ["tb1", "tb2", "tb3"]
    status = tb.status()
    for h, r in finished(events).items():
        assert r["result"] == "ok"
        assert status[h]["current_system"] == r["system"]
        assert r["system"].endswith(f"-nixos-system-{h}-testbed-{tb.gen('2')}")


def test_rollback_restores_previous_generation(tb):
    # Deploys the history it rolls back itself — generation 1, then 2 — so it passes alone
    # (`pytest -k rollback`) as well as after the tests above (which leave every host on 2).
    gen1 = {}
    for g in ("1", "2"):
        tb.set_generation(g, ["tb1", "tb2", "tb3"])
        rc, events, err = tb.fleet("deploy", "tb1", "tb2", "tb3")
        assert rc == 0, err
        gen1 = gen1 or {h: r["system"] for h, r in finished(events).items()}
    rc, events, err = tb.fleet("rollback", "tb1", "tb2")
    assert rc == 0, err
    status = tb.status()
    for h in ("tb1", "tb2"):
        assert finished(events)[h]["system"] == gen1[h]
        assert status[h]["current_system"] == gen1[h]
        assert status[h]["profile"] == gen1[h]
    assert status["tb3"]["current_system"].endswith(tb.gen("2")), "only the named hosts roll back"


def test_dry_run_changes_nothing(tb):
    tb.set_generation("3", ["tb3"])
    before = tb.status()["tb3"]
    rc, events, err = tb.fleet("deploy", "--dry-run", "tb3")
    assert rc == 0, err
    build = stage_result(events, "tb3", "build")
    assert build["message"].startswith("would build ") and f"-nixos-system-tb3-testbed-{tb.gen('3')}" in build["message"], build
    activate = stage_result(events, "tb3", "activate")
    assert activate["message"].startswith("would switch "), activate
    logs = [e["line"] for e in events if e["type"] == "log" and e["host"] == "tb3"]
    assert any(line.startswith("would run: nix-env -p /nix/var/nix/profiles/system --set ") for line in logs), logs
    after = tb.status()["tb3"]
    assert after["current_system"] == before["current_system"]
    assert after["profile_generation"] == before["profile_generation"]


def _descendant_pgids(pid):
    """Process groups of `pid`'s descendants (fleet puts every child in its own group)."""
    table = proc_table()
    return {table[p][1] for p in descendants(pid, table)}


def _live_in_group(pgid):
    return [(p, cmd) for p, (_, group, state, cmd) in proc_table().items() if group == pgid and state != "Z"]


def test_cancel_leaves_no_ssh_or_nix_process(tb):
    tb.set_generation("4", ["tb1"])
    tb.fault("tb1", "activation-hang")
    proc = subprocess.Popen(tb.fleet_args("deploy", "tb1", "--json"), stdout=subprocess.PIPE, text=True,
                            env=tb.env(), start_new_session=True)
    try:
        pgids = set()
        deadline = time.time() + 60
        for line in proc.stdout:
            e = json.loads(line)
            if e["type"] == "log" and "activation of tb1 hangs" in e["line"]:
                break
            assert time.time() < deadline, "activation never started"
        pgids = _descendant_pgids(proc.pid)
        assert pgids, "fleet runs ssh in child process groups while activating"
        proc.send_signal(signal.SIGINT)
        rest = proc.stdout.read()
        assert proc.wait(timeout=30) == 130
        summary = json.loads(rest.strip().splitlines()[-1])
        assert summary["type"] == "run_finished" and summary["cancelled"] is True
        assert summary["hosts"][0]["error"] == "[tb1] activate failed: cancelled"
        wait_until(lambda: not any(_live_in_group(g) for g in pgids), 10,
                   message=lambda: f"process groups still have live processes: {[_live_in_group(g) for g in pgids]}")
        # Nor the ControlMaster (a daemon in its own session, named after its socket under TMPDIR).
        wait_until(lambda: processes_mentioning(tb.tmp + "/", exclude_sshd=False) == [], 10,
                   message=lambda: f"left running: {processes_mentioning(tb.tmp + '/', exclude_sshd=False)}")
        assert os.listdir(tb.tmp) == [], "control socket directory removed"
    finally:
        if proc.poll() is None:
            proc.kill()
        tb.fault("tb1", "clear")


def test_build_failure_is_per_host(tb):
    """A machine the flake cannot build fails at the build stage with nix's error; the shared build
    falls back to per-host builds and the other host still deploys."""
    inv = os.path.join(tb.root, "inv-broken")
    os.makedirs(inv, exist_ok=True)
    with open(os.path.join(inv, "inventory.json"), "w") as f:
        json.dump({"meta": {"name": "broken"}, "machines": {"tb4": {"deploy": {"targetHost": "root@tb4"}},
                                                             "ghost": {"deploy": {"targetHost": "root@tb4"}}}}, f)
    tb.set_generation("5", ["tb4"])
    args = tb.fleet_args("deploy", "--json")
    args[args.index("--inventory") + 1] = inv
    r = subprocess.run(args, capture_output=True, text=True, env=tb.env(), timeout=120)
    assert r.returncode == 1, r.stderr
    done = finished([json.loads(line) for line in r.stdout.splitlines()])
    assert done["tb4"]["result"] == "ok", done["tb4"]
    assert done["ghost"]["failed_stage"] == "build"
    assert done["ghost"]["error"].startswith("[ghost] build failed: ") and "ghost" in done["ghost"]["error"][20:], done["ghost"]
    assert tb.status()["tb4"]["current_system"] == done["tb4"]["system"]


def test_jobs_limit_and_ipv6_target_with_port(tb):
    """--jobs 1 runs hosts one after the other; a `[v6]:port` target works through ssh and nix copy."""
    tb.set_generation("6", ["tb3", "tb4"])
    v6 = tb.status()["tb4"]["address6"]
    rc, events, err = tb.fleet("deploy", "--jobs", "1", "tb3", "tb4", "--target", f"tb4=root@[{v6}]:22")
    assert rc == 0, err + json.dumps(run_summary(events))
    order = [(e["type"], e["host"]) for e in events if e["type"] in ("host_finished",) or
             (e["type"] == "stage_started" and e.get("stage") == "connect")]
    assert order == [("stage_started", "tb3"), ("host_finished", "tb3"), ("stage_started", "tb4"), ("host_finished", "tb4")]
    done = finished(events)
    assert done["tb4"]["target"] == f"root@[{v6}]:22"
    assert tb.status()["tb4"]["current_system"] == done["tb4"]["system"]
    assert done["tb4"]["system"].endswith(tb.gen("6"))


def test_host_key_policy_strict_and_accept_new(tb):
    """An unknown host is refused by default (strict) and trusted on first use with accept-new; a
    changed key is refused under accept-new too (never StrictHostKeyChecking=no)."""
    known = os.path.join(tb.root, "known_hosts_empty")
    open(known, "w").close()
    with open(os.path.join(tb.dir, "ssh_config")) as f:
        config = f.read().replace(os.path.join(tb.dir, "known_hosts"), known)
    assert known in config
    cfg = os.path.join(tb.root, "ssh_config_unknown")
    with open(cfg, "w") as f:
        f.write(config)

    def deploy(*extra):
        args = tb.fleet_args("deploy", "tb2", "--json", *extra)
        args[args.index("--ssh-config") + 1] = cfg
        r = subprocess.run(args, capture_output=True, text=True, env=tb.env(), timeout=120)
        return r.returncode, finished([json.loads(line) for line in r.stdout.splitlines()])["tb2"]

    rc, r = deploy()
    assert rc == 1 and r["failed_stage"] == "connect", r
    assert "unknown host key" in r["error"] and "accept-new" in r["error"], r["error"]
    rc, r = deploy("--host-key-check", "accept-new")
    assert rc == 0, r
    assert open(known).read().strip(), "accept-new recorded the key"
    tb.fault("tb2", "wrong-hostkey")
    try:
        rc, r = deploy("--host-key-check", "accept-new")
    finally:
        tb.fault("tb2", "clear")
    assert rc == 1 and r["failed_stage"] == "connect" and "host key mismatch" in r["error"], r


def test_stage_timeout_names_host_and_stage(tb):
    """A hanging activation hits the stage timeout: a one-line error naming host and stage, the
    other host unaffected, nothing left running locally."""
    tb.set_generation("7", ["tb3", "tb4"])
    tb.fault("tb3", "activation-hang")
    try:
        rc, events, err = tb.fleet("deploy", "tb3", "tb4", "--timeout", "activate=2")
    finally:
        tb.fault("tb3", "clear")
    assert rc == 1, err
    done = finished(events)
    assert done["tb3"]["error"] == "[tb3] activate failed: timed out after 2s"
    assert done["tb3"]["timed_out"] is True
    assert done["tb4"]["result"] == "ok"
    wait_until(lambda: processes_mentioning(tb.tmp + "/", exclude_sshd=False) == [], 10,
               message=lambda: f"left running: {processes_mentioning(tb.tmp + '/', exclude_sshd=False)}")


def test_deploy_runs_clans_inventory_migration_first(tb):
    """`clan machines update` first runs `run_inventory_migrations`: an empty `services` key left by
    clan ≤ 25.11 (clan-core 26.05 fails to evaluate it) is removed; a dry run changes nothing; a
    non-empty one stops the deploy with clan's guide before any host is touched."""
    path = os.path.join(tb.inventory, "inventory.json")
    with open(path) as f:
        original = json.load(f)
    try:
        with open(path, "w") as f:
            json.dump({**original, "services": {}}, f, indent=2)
        rc, events, err = tb.fleet("deploy", "--dry-run", "tb4")
        with open(path) as f:
            assert "services" in json.load(f), "a dry run changes nothing"
        tb.set_generation("5", ["tb4"])
        rc, events, err = tb.fleet("deploy", "tb4")
        assert rc == 0, err
        assert "removed the stale empty 'services' key" in err, err
        with open(path) as f:
            text = f.read()
        assert json.loads(text) == original and not text.endswith("\n"), "clan's json.dump(indent=2), the key gone"

        with open(path, "w") as f:
            json.dump({**original, "services": {"borgbackup": {}}}, f, indent=2)
        rc, events, err = tb.fleet("deploy", "tb4")
        assert rc != 0 and events == [], (rc, events)
        assert "non-empty 'services' key" in err and "migrate-inventory-services" in err, err
    finally:
        with open(path, "w") as f:
            json.dump(original, f, indent=2)
