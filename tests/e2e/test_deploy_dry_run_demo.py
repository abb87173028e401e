"""Issue 14 done-when: `fleet deploy --dry-run` on the demo says, for every machine, where it would
build and how it would activate — also for the machines it has no target for (the darwin laptops:
clan sets no domain for darwin, so clan itself would stop at "Could not find any way to connect"; the
dry run reports them failed at resolve, exit 1),
and the darwin machines show exactly clan's `darwin-rebuild` argv
(clan_lib/machines/update.py `_build_darwin_rebuild_cmd`). Relies only on demo facts that survive a
regeneration: the reference user's 8 machines, 4 of them darwin. Offline: the NixOS targets do not
resolve, which the dry run reports per host."""
import json
import os
import shlex
import subprocess

from tmuxdriver import FLEET_BIN

# clan_lib/machines/update.py:30-42 (`--show-trace --option keep-going true --option
# accept-flake-config true -L`), then `--flake <store path>#<machine>`.
CLAN_NIX_OPTIONS = ["--show-trace", "--option", "keep-going", "true", "--option", "accept-flake-config", "true", "-L"]


def test_dry_run_on_the_demo_says_where_each_machine_builds_and_how_it_activates(tmp_path):
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    listing = subprocess.run([FLEET_BIN, "list", "--json"], capture_output=True, text=True, cwd="/", env=env, timeout=120)
    assert listing.returncode == 0, listing.stderr
    classes = {m["name"]: m["class"] for m in json.loads(listing.stdout)}
    assert len(classes) == 8 and sorted(classes.values()).count("darwin") == 4, classes

    r = subprocess.run([FLEET_BIN, "deploy", "--dry-run", "--no-history", "--json"], capture_output=True, text=True,
                       cwd="/", env=env, timeout=300)
    events = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    plans = {e["host"]: e for e in events if e["type"] == "resolved"}
    done = {e["host"]: e for e in events if e["type"] == "host_finished"}
    assert set(plans) == set(classes) and set(done) == set(classes), (r.stdout[-2000:], r.stderr[-2000:])
    logs = {}
    for e in events:
        if e["type"] == "log":
            logs.setdefault(e["host"], []).append(e["line"])
    stages = {(e["host"], e["stage"]): e for e in events if e["type"] == "stage_finished"}

    for m, cls in classes.items():
        plan = plans[m]
        # Where it builds: a placement and where that came from, for every machine.
        assert plan["build"] in ("local", "target") or "@" in plan["build"], plan
        assert plan["build_source"], plan
        build = stages[(m, "build")]
        assert build["result"] in ("ok", "skipped") and "build" in build["message"], build
        if cls == "darwin":
            assert plan["activation"] == "darwin-rebuild switch on the target", plan
            # darwin-rebuild builds where it activates, whatever build host is configured.
            assert plan["build"] == "target" and plan["build_source"].startswith("darwin-rebuild"), plan
            # clan's argv, word for word; the flake is the uploaded source's store path.
            [line] = [l for l in logs.get(m, []) if l.startswith("would run on the target: ")]
            argv = shlex.split(line[len("would run on the target: "):])
            assert argv[:2] == ["/run/current-system/sw/bin/darwin-rebuild", "switch"], argv
            assert argv[2:-2] == CLAN_NIX_OPTIONS, argv
            assert argv[-2] == "--flake" and argv[-1].endswith("#" + m), argv
            assert stages[(m, "activate")]["result"] == "ok", stages[(m, "activate")]
        else:
            assert plan["activation"] == "nix-env --set, switch-to-configuration boot, then switch", plan
            assert "switch-to-configuration boot, then switch" in stages[(m, "activate")]["message"], stages[(m, "activate")]
            # The summary line (the CLI's table, the Deploy screen) says it too.
            if done[m]["result"] == "ok":
                assert done[m]["message"].endswith(f"would build {'locally' if plan['build'] == 'local' else 'on the target' if plan['build'] == 'target' else 'on ' + plan['build']}"
                                                   " and activate with nix-env --set, switch-to-configuration boot, then switch"), done[m]
        # A host without a target still ends its preview, and fails at resolve as clan's update
        # would (message naming host and stage); the others are not affected by it.
        if plan["target"] == "none":
            assert done[m]["result"] == "failed" and done[m]["failed_stage"] == "resolve", done[m]
            assert done[m]["error"].startswith(f"[{m}] resolve failed: Could not find any way to connect to machine '{m}'"), done[m]
    no_target = sorted(m for m, p in plans.items() if p["target"] == "none")
    assert no_target == sorted(m for m, c in classes.items() if c == "darwin"), no_target
    assert r.returncode == 1, "a host without a target fails the dry run"
