"""The Fleet screen's TARGET column for a flake shows what the deploy will use: the machine config's
`clan.core.networking.targetHost`, evaluated from a real clan-core flake the way the deploy does
(`ClanDeployConfig`), in the background and cached — where the inventory alone has no target ("-").
A dry run of that machine resolves the same address, and the STATUS probe goes there too (a real
testbed host): re-targeted as soon as the evaluation arrives, from the cache on the next start."""
import glob
import json
import os
import shlex
import subprocess

from real_clan import NIX_CONFIG, nix_env
from testbed_support import DeployTestbed
from tmuxdriver import FLEET_BIN, Pane

CLAN_NIX = """
{
  meta.name = "targets";
  inventory.machines = {
    alpha = { tags = [ "server" ]; };
    beta = { tags = [ "server" ]; };
  };
  machines = {
    alpha = { nixpkgs.hostPlatform = "x86_64-linux"; clan.core.networking.targetHost = "a@alpha.lan:2222"; };
    beta = { nixpkgs.hostPlatform = "x86_64-linux"; };
  };
}
"""


def test_target_column_shows_the_machine_config_target_host(real_clan, tmp_path):
    d = real_clan.copy(tmp_path / "clan", CLAN_NIX)
    xdg = {k: str(tmp_path / k.lower()) for k in ("XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")}
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in {**xdg, "NIX_CONFIG": NIX_CONFIG, "FLEET_NO_PROBES": "1"}.items())
    pane = Pane(240, 30)
    try:
        pane.start_fleet(f"--flake {shlex.quote(d)}", env=env)
        # No domain, no network, no inventory targetHost: without the machine config there is none.
        screen = pane.wait_for("a@alpha.lan:2222 (config)", timeout=300)
        beta = next(l for l in screen.splitlines() if " beta " in l)
        assert "@" not in beta, f"beta has no target anywhere (clan would error), so none is shown: {beta!r}"
        pane.send("q")
        assert pane.wait_for_exit() == 0
        assert glob.glob(os.path.join(xdg["XDG_CACHE_HOME"], "fleet", "deploy-config-*.json")), "the evaluation is cached"
        # A second start shows it again (from the cache, then re-evaluated).
        pane.start_fleet(f"--flake {shlex.quote(d)}", env=env)
        pane.wait_for("a@alpha.lan:2222 (config)", timeout=300)
        pane.send("q")
        assert pane.wait_for_exit() == 0
    finally:
        pane.close()

    # The deploy resolves the same target (a dry run: the host does not exist).
    r = subprocess.run([FLEET_BIN, "deploy", "alpha", "--dry-run", "--no-history", "--json", "--flake", d],
                       capture_output=True, text=True, env=nix_env(**xdg), timeout=600)
    plans = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{") and '"resolved"' in l]
    assert [p["target"] for p in plans] == ["a@alpha.lan:2222"], r.stdout[-3000:] + r.stderr[-2000:]
    assert plans[0]["target_source"] == "clan.core.networking.targetHost"


def row(screen, name):
    return next((l for l in screen.splitlines() if f" {name} " in l), "")


def test_status_probe_goes_to_the_machine_config_target_like_the_deploy(real_clan, tmp_path):
    """tb1's only target is its machine config's targetHost (the inventory alone would guess
    `root@tb1.<domain>`, which does not resolve). The first start has no cached evaluation: STATUS
    must follow the evaluation to root@tb1 and show the host (never deployed), without waiting for
    the 30 s refresh; the dry run resolves the same target from the same source."""
    tb = DeployTestbed(1)
    try:
        clan_nix = CLAN_NIX.replace("alpha", "tb1").replace("a@tb1.lan:2222", "root@tb1").replace("beta", "tb2")
        d = real_clan.copy(tmp_path / "clan", clan_nix)
        xdg = {k: str(tmp_path / k.lower()) for k in ("XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")}
        ui_env = {**xdg, "NIX_CONFIG": NIX_CONFIG, "TMPDIR": tb.tmp, "FLEET_SSH_CONFIG": os.path.join(tb.dir, "ssh_config"),
                  "FLEET_BUILD_FLAKE": "path:" + tb.flake}
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in ui_env.items())
        pane = Pane(240, 30)
        try:
            for start in ("first", "cached"):
                pane.start_fleet(f"--flake {shlex.quote(d)}", env=env)
                screen = pane.wait_for("root@tb1 (config)", timeout=300)
                assert "@" not in row(screen, "tb2"), row(screen, "tb2")
                # Well within the 30 s refresh: the probe follows the evaluation.
                screen = pane.wait_for("never deployed", timeout=25)
                assert "never deployed" in row(screen, "tb1") and "root@tb1 (config)" in row(screen, "tb1"), (start, screen)
                assert "no target" in row(screen, "tb2"), (start, row(screen, "tb2"))
                pane.send("q")
                assert pane.wait_for_exit() == 0
        finally:
            pane.close()

        r = subprocess.run([FLEET_BIN, "deploy", "tb1", "--dry-run", "--no-history", "--json", "--flake", d,
                            "--ssh-config", os.path.join(tb.dir, "ssh_config"), "--build-flake", "path:" + tb.flake],
                           capture_output=True, text=True, env=nix_env(TMPDIR=tb.tmp, **xdg), timeout=600)
        plans = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{") and '"resolved"' in l]
        assert [(p["target"], p["target_source"]) for p in plans] == [("root@tb1", "clan.core.networking.targetHost")], \
            r.stdout[-3000:] + r.stderr[-2000:]
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    finally:
        tb.close()
