"""`fleet vars generate` on a real clan-core clan whose zerotier vars are in the 25.11 layout: like
`clan vars generate`, it first moves them to the all-shared layout in one commit, prints clan's
banner and stops (exit 0); afterwards no zerotier generator is planned, so no new identity or network
id is minted. `fleet deploy` runs the same migration first (clan's `machines update` calls
`run_generators`, which migrates, prints the banner and `sys.exit(0)`s: zerotier.py): the run stops
with exit 0, its hosts not deployed; the same command run again deploys. A migration that fails
(a machine in two zerotier instances, clan's ClanError) fails the deploy. The clan is the real
clan-core's example clan (the `real_clan` fixture), or a zerotier-only clan.nix."""
import json
import os
import subprocess

from testbed_support import TESTBED, require_testbed_tools, stage_result
from tmuxdriver import FLEET_BIN


def git(d, *args):
    return subprocess.run(["git", "-C", d, *args], check=True, capture_output=True, text=True).stdout


# Only the zerotier service (no prompts, nothing else to generate once the vars are moved).
ZEROTIER_ONLY = """
{
  meta.name = "zt";
  inventory.machines = { alpha = { }; beta = { }; };
  inventory.instances.zerotier = { roles.controller.machines.alpha = { }; roles.peer.machines.beta = { }; };
  machines = { alpha = { nixpkgs.hostPlatform = "x86_64-linux"; }; beta = { nixpkgs.hostPlatform = "x86_64-linux"; }; };
}
"""


def legacy_clan(real_clan, tmp_path, clan_nix_text=None):
    """A committed git clan on the real clan-core (alpha, beta) whose zerotier vars are in the 25.11
    layout. Returns (clan dir, env without an admin key, env with it, identities)."""
    d = real_clan.copy(tmp_path / "clan", clan_nix_text)
    # The example clan's zerotier instance is "zerotier", alpha its controller; 25.11 kept everything
    # under the per-machine generator "zerotier" (values here are public: no key needed to move them).
    legacy = {
        "vars/per-machine/alpha/zerotier/zerotier-network-id/value": "8056c2e21c000001",
        "vars/per-machine/alpha/zerotier/zerotier-ip/value": "fd80:56c2:e21c:0:199:9300:aaaa:aaaa",
        "vars/per-machine/beta/zerotier/zerotier-ip/value": "fd80:56c2:e21c:0:199:9300:bbbb:bbbb",
    }
    for rel, text in legacy.items():
        os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
        with open(os.path.join(d, rel), "w") as f:
            f.write(text)
    # The identities are secrets: written by `fleet secrets set` (a real sops file for the admin),
    # then placed where 25.11 kept them, their link re-pointed from that depth.
    subprocess.run(["age-keygen", "-o", str(tmp_path / "admin.txt")], check=True, capture_output=True)
    pub = subprocess.run(["age-keygen", "-y", str(tmp_path / "admin.txt")], check=True, capture_output=True, text=True).stdout.strip()
    os.makedirs(os.path.join(d, "sops/users/admin"))
    with open(os.path.join(d, "sops/users/admin/key.json"), "w") as f:
        f.write('[\n  {\n    "publickey": "%s",\n    "type": "age"\n  }\n]\n' % pub)
    key_env = dict(os.environ, SOPS_AGE_KEY_FILE=str(tmp_path / "admin.txt"), HOME=str(tmp_path))
    identities = {}
    for m in ("alpha", "beta"):
        identities[m] = "identity-of-" + m
        subprocess.run([FLEET_BIN, "secrets", "set", "zt-" + m, "--repo", d], input=identities[m], text=True, check=True, env=key_env)
        dst = os.path.join(d, f"vars/per-machine/{m}/zerotier/zerotier-identity-secret")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.rename(os.path.join(d, "sops/secrets/zt-" + m), dst)
        os.unlink(os.path.join(dst, "users/admin"))
        os.symlink("../../../../../../sops/users/admin", os.path.join(dst, "users/admin"))
    git(d, "add", "-A")
    git(d, "commit", "-qm", "25.11 layout")
    env = dict(os.environ, NIX_CONFIG="experimental-features = nix-command flakes\nsubstituters =\n",
               HOME=str(tmp_path), SOPS_AGE_KEY_FILE=str(tmp_path / "none.txt"))
    return d, env, key_env, identities


def test_generate_migrates_the_25_11_zerotier_layout_and_stops(real_clan, tmp_path):
    d, env, key_env, identities = legacy_clan(real_clan, tmp_path)

    dry = subprocess.run([FLEET_BIN, "vars", "generate", "--repo", d, "--dry-run"], capture_output=True, text=True, env=env, timeout=300)
    assert dry.returncode == 0, dry.stderr
    assert "Would first move the zerotier vars to the all-shared layout" in dry.stdout
    assert os.path.exists(os.path.join(d, "vars/per-machine/alpha/zerotier")), "a dry run moves nothing"

    # No admin key is configured: like clan, the migration comes before anything needs one.
    r = subprocess.run([FLEET_BIN, "vars", "generate", "--repo", d], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "ZEROTIER MIGRATION - ACTION REQUIRED" in r.stderr
    assert git(d, "log", "-1", "--format=%s") == "migrate: move zerotier vars to all-shared layout\n"
    assert git(d, "status", "--porcelain", "vars") == ""
    shared = {
        "vars/shared/zerotier-network-zerotier/network-id/value": "8056c2e21c000001",
        "vars/shared/zerotier-ip-alpha-zerotier/ip/value": "fd80:56c2:e21c:0:199:9300:aaaa:aaaa",
        "vars/shared/zerotier-ip-beta-zerotier/ip/value": "fd80:56c2:e21c:0:199:9300:bbbb:bbbb",
    }
    for rel, text in shared.items():
        with open(os.path.join(d, rel)) as f:
            assert f.read() == text, rel
    assert not os.path.exists(os.path.join(d, "vars/per-machine/alpha/zerotier"))

    # The same identities, now where the current generators look.
    for m in ("alpha", "beta"):
        got = subprocess.run([FLEET_BIN, "vars", "get", m, f"zerotier-identity-{m}/identity-secret", "--repo", d],
                             capture_output=True, text=True, env=key_env, timeout=300)
        assert got.returncode == 0 and got.stdout == identities[m], got.stderr

    # Identities, network id and IPs are in place: the plan mints none of them.
    env["SOPS_AGE_KEY_FILE"] = str(tmp_path / "admin.txt")
    again = subprocess.run([FLEET_BIN, "vars", "generate", "--repo", d, "--dry-run"], capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "zerotier" not in again.stdout, again.stdout


def zt_testbed(tmp_path, env):
    """A testbed host named alpha, and the deploy's argv and env (json events)."""
    tbdir = "/tmp/fleet-zm-" + os.urandom(3).hex()
    subprocess.run([TESTBED, "up", "--names", "alpha", "--dir", tbdir], check=True, capture_output=True, timeout=120)
    env = dict(env, XDG_STATE_HOME=str(tmp_path / "state"), NIX_CONFIG=env["NIX_CONFIG"] + "sandbox = false\n")
    return tbdir, env


def deploy(d, tbdir, env, *extra):
    r = subprocess.run([FLEET_BIN, "deploy", "alpha", "--flake", d, "--ssh-config", os.path.join(tbdir, "ssh_config"),
                        "--target", "alpha=root@alpha", "--json", *extra], capture_output=True, text=True, env=env, timeout=600)
    return r, [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]


def test_deploy_runs_the_migration_first_and_stops_before_touching_a_host(real_clan, tmp_path):
    """`clan machines update` generates vars first, and `run_generators` migrates an old zerotier
    layout, commits, prints its banner and exits 0. fleet's deploy does the same: the migration
    commit, clan's banner, exit 0, the host reported not deployed (skipped, with the reason), no
    identity minted, nothing uploaded or activated (a real testbed host named alpha)."""
    require_testbed_tools()
    d, env, key_env, identities = legacy_clan(real_clan, tmp_path)
    tbdir, env = zt_testbed(tmp_path, env)
    try:
        r, events = deploy(d, tbdir, env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "ZEROTIER MIGRATION - ACTION REQUIRED" in r.stderr, r.stderr
        [done] = [e for e in events if e["type"] == "host_finished"]
        assert done["result"] == "skipped", done
        assert "zerotier vars were moved to the all-shared layout" in done["message"], done
        assert "clan.lol/docs/unstable/guides/migrations/zerotier" in done["message"], done
        assert stage_result(events, "alpha", "secrets")["result"] == "skipped"
        assert not [e for e in events if e["type"] == "stage_started" and e["stage"] in ("build", "activate")], \
            "the run stops before building or activating anything"
        assert git(d, "log", "-1", "--format=%s") == "migrate: move zerotier vars to all-shared layout\n"
        assert git(d, "status", "--porcelain", "vars") == ""
        assert not os.path.exists(os.path.join(d, "vars/per-machine/alpha/zerotier"))
        # Moved, not minted: alpha's identity is the old one.
        got = subprocess.run([FLEET_BIN, "vars", "get", "alpha", "zerotier-identity-alpha/identity-secret", "--repo", d],
                             capture_output=True, text=True, env=key_env, timeout=300)
        assert got.returncode == 0 and got.stdout == identities["alpha"], got.stderr
        st = json.loads(subprocess.run([TESTBED, "status", "--json", "--dir", tbdir], check=True, capture_output=True,
                                       text=True, timeout=60).stdout)["hosts"][0]
        assert st["profile_generation"] is None and st["current_system"] is None, st
        up = subprocess.run([TESTBED, "exec", "alpha", "--", "find", "/var/lib/sops-nix", "-mindepth", "1"], env=dict(os.environ, TESTBED_DIR=tbdir),
                            capture_output=True, text=True, timeout=60)
        assert up.returncode == 0 and up.stdout == "", "nothing was uploaded: " + up.stdout + up.stderr
    finally:
        subprocess.run([TESTBED, "down", "--dir", tbdir], capture_output=True, timeout=120)


def test_after_the_migration_the_same_deploy_deploys(real_clan, tmp_path):
    """The migration run exits 0; re-running the same command (as the banner says) deploys the
    host and exits 0: the migrated layout plans nothing, the system builds on the target."""
    require_testbed_tools()
    d, env, key_env, identities = legacy_clan(real_clan, tmp_path, ZEROTIER_ONLY)
    # The admin deploys with their key (the vars step opens the sops backend).
    tbdir, env = zt_testbed(tmp_path, dict(env, SOPS_AGE_KEY_FILE=key_env["SOPS_AGE_KEY_FILE"]))
    try:
        flake = subprocess.run([TESTBED, "flake", str(tmp_path / "system"), "alpha", "--gen", "zt-" + os.urandom(3).hex(),
                                "--dir", tbdir], check=True, capture_output=True, text=True, timeout=300).stdout.strip()
        first, events = deploy(d, tbdir, env, "--build-flake", flake)
        assert first.returncode == 0, first.stdout + first.stderr
        assert [e["result"] for e in events if e["type"] == "host_finished"] == ["skipped"], first.stdout
        second, events = deploy(d, tbdir, env, "--build-flake", flake)
        assert second.returncode == 0, second.stdout + second.stderr
        [done] = [e for e in events if e["type"] == "host_finished"]
        assert done["result"] == "ok", done
        assert "ZEROTIER MIGRATION" not in second.stderr
        st = json.loads(subprocess.run([TESTBED, "status", "--json", "--dir", tbdir], check=True, capture_output=True,
                                       text=True, timeout=60).stdout)["hosts"][0]
        assert st["current_system"] == done["system"], (st, done)
    finally:
        subprocess.run([TESTBED, "down", "--dir", tbdir], capture_output=True, timeout=120)


def test_a_failing_migration_fails_the_deploy_clearly(real_clan, tmp_path):
    """clan's migration refuses a machine in two zerotier instances (ClanError, exit 1): the deploy
    fails, the host at its secrets stage with clan's reason, and nothing moves."""
    require_testbed_tools()
    two = ZEROTIER_ONLY.replace(
        "inventory.instances.zerotier = { roles.controller.machines.alpha = { }; roles.peer.machines.beta = { }; };",
        "inventory.instances.zerotier = { roles.controller.machines.alpha = { }; roles.peer.machines.beta = { }; };\n"
        "  inventory.instances.zt2 = { module.name = \"zerotier\"; roles.controller.machines.beta = { }; roles.peer.machines.alpha = { }; };")
    d, env, key_env, identities = legacy_clan(real_clan, tmp_path, two)
    tbdir, env = zt_testbed(tmp_path, env)
    try:
        r, events = deploy(d, tbdir, env)
        assert r.returncode == 1, r.stdout + r.stderr
        [done] = [e for e in events if e["type"] == "host_finished"]
        assert done["result"] == "failed" and done["failed_stage"] == "secrets", done
        assert done["error"].startswith("[alpha] secrets failed: "), done
        assert "belong to multiple zerotier instances" in done["error"], done
        assert os.path.exists(os.path.join(d, "vars/per-machine/alpha/zerotier")), "nothing moved"
        assert git(d, "log", "-1", "--format=%s") == "25.11 layout\n"
    finally:
        subprocess.run([TESTBED, "down", "--dir", tbdir], capture_output=True, timeout=120)
