"""Deploying from the keyboard (issue 7): mark two testbed hosts, press d, confirm, watch the
stages change on the Deploy screen, see success, and check the hosts really switched."""
import os
import shlex
import subprocess

from testbed_support import DeployTestbed, NIX_CONFIG
from tmuxdriver import wait_until


def test_mark_two_hosts_deploy_and_watch(pane):
    tb = DeployTestbed(3)
    try:
        env = {
            "FLEET_SSH_CONFIG": os.path.join(tb.dir, "ssh_config"),
            "FLEET_BUILD_FLAKE": "path:" + tb.flake,
            "NIX_CONFIG": NIX_CONFIG,
            "XDG_STATE_HOME": tb.state,
            "TMPDIR": tb.tmp,
        }
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        pane.start_fleet(args=f"--inventory {tb.inventory}", env=prefix)
        pane.wait_for("tb3")
        # Background probes: every host reachable, nothing deployed yet.
        screen = pane.wait_for("STATUS", timeout=10)
        wait_until(lambda: pane.capture().count("never deployed") >= 3, 60, message=pane.capture)
        pane.send("Space")            # marks tb1, moves to tb2
        pane.send("Space")            # marks tb2
        pane.wait_for("2 marked")
        pane.send("d")
        screen = pane.wait_for("Deploy 2 machines?")
        assert "tb1, tb2" in screen
        pane.send("y")
        # The Deploy screen opens and shows stages as they happen.
        screen = pane.wait_for("running", timeout=30)
        assert "STAGE" in screen and "tb1" in screen and "tb3" not in screen.split("HOST", 1)[1]
        seen_stages = set()

        def finished_screen():
            screen = pane.capture()
            for st in ("connect", "secrets", "build", "copy", "activate", "verify"):
                for line in screen.splitlines():
                    if line.strip().startswith(("tb1", "▶ tb1", "tb2")) and f" {st} " in line:
                        seen_stages.add(st)
            return screen if "2 ok, 0 failed" in screen else None
        wait_until(finished_screen, 120, message=pane.capture)
        assert seen_stages, "no stage was ever shown while running"
        status = tb.status()
        for h in ("tb1", "tb2"):
            assert status[h]["current_system"] and tb.gen("1") in status[h]["current_system"], status[h]
        assert not status["tb3"]["current_system"], "an unmarked host must not be deployed"
        # History tab lists the run.
        pane.send("6")
        screen = pane.wait_for("STARTED")
        assert "deploy" in screen and "ok" in screen
        pane.send("Enter")                       # the run's recorded logs
        screen = pane.wait_for("== tb1: ok")
        assert "switch-to-configuration" in screen or "activate" in screen, screen
        pane.send("Escape")
        pane.wait_for("== tb1", absent=True)
        pane.send("q")
        assert pane.wait_for_exit() == 0
        # Nothing outlives fleet: no ssh master or nix process under this test's TMPDIR.
        def leftovers():
            out = subprocess.run(["pgrep", "-af", tb.tmp + "/"], capture_output=True, text=True).stdout
            return [l for l in out.splitlines() if " sshd" not in l]
        wait_until(lambda: leftovers() == [], 10, message=lambda: f"left running: {leftovers()}")
    finally:
        tb.close()
