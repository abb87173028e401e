"""Deploys as a non-root user through sudo, and clan's default host-key policy `ask`, against real
testbed hosts (network namespaces with sshd, their own /nix, a private /etc/{passwd,shadow,sudoers}
with a real sudo, and a nix-daemon for the non-root user). The terminal cases run the real `fleet`
in tmux, so sudo's password and the host key question are answered on a real tty. Root only."""
import json
import os
import shlex
import subprocess

import pytest

from testbed_support import DeployTestbed, finished, run_summary, stage_result
from tmuxdriver import FLEET_BIN, Pane

PASSWORD = "Sudo pw " + os.urandom(4).hex()  # a blank inside: the askpass path must keep it intact


@pytest.fixture(scope="module")
def tb():
    t = DeployTestbed(3)
    try:
        r = subprocess.run(t.tb_argv("user", "tb1", "alice"), input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        r = subprocess.run(t.tb_argv("user", "tb2", "bob", "--nopasswd"), capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        yield t
    finally:
        t.close()


def headless(tb, *args):
    """`fleet … --json` without a controlling terminal (its own session), like a CI job or cron."""
    r = subprocess.run(tb.fleet_args(*args, "--json"), capture_output=True, text=True, env=tb.env(), timeout=180,
                       start_new_session=True)
    return r.returncode, [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")], r.stderr


def pane_env(tb):
    e = tb.env()
    return " ".join(f"{k}={shlex.quote(e[k])}" for k in ("NIX_CONFIG", "XDG_STATE_HOME", "TMPDIR"))


def run_in_pane(tb, args):
    pane = Pane(160, 50)
    pane.start_fleet(" ".join(shlex.quote(a) for a in tb.fleet_args(*args)[1:]), env=pane_env(tb))
    return pane


def test_sudo_with_password_asked_on_the_terminal(tb):
    pane = run_in_pane(tb, ["deploy", "tb1", "--target", "tb1=alice@tb1"])
    try:
        pane.wait_for("[tb1] [sudo] password for alice:", timeout=120)
        pane.tmux("send-keys", "-t", "e2e", "-l", PASSWORD)
        pane.send("Enter")
        assert pane.wait_for_exit(timeout=180) == 0, pane.capture()
        screen = pane.tmux("capture-pane", "-p", "-S", "-", "-E", "-", "-t", "e2e").stdout
    finally:
        pane.close()
    assert PASSWORD not in screen, "the password was echoed"
    assert "root commands run through sudo" in screen
    st = tb.status()["tb1"]
    assert st["current_system"] and st["current_system"].endswith(f"-nixos-system-tb1-testbed-{tb.gen('1')}")
    # Activation ran as root (the profile is root's) and nothing of the askpass session is left.
    left = subprocess.run(tb.tb_argv("exec", "tb1", "--", "pgrep", "-u", "alice", "-a", "."), capture_output=True, text=True).stdout
    assert "askpass" not in left and "mkfifo" not in left and "bash -c" not in left, left


def test_sudo_password_asked_once_per_run_and_wrong_password_asked_again(tb):
    tb.set_generation("2", ["tb1"])
    pane = run_in_pane(tb, ["deploy", "tb1", "--target", "tb1=alice@tb1"])
    try:
        pane.wait_for("[tb1] [sudo] password for alice:", timeout=120)
        pane.tmux("send-keys", "-t", "e2e", "-l", "wrong")
        pane.send("Enter")
        pane.wait_for("Sorry, try again.", timeout=60)
        pane.tmux("send-keys", "-t", "e2e", "-l", PASSWORD)
        pane.send("Enter")
        assert pane.wait_for_exit(timeout=180) == 0, pane.capture()
        screen = pane.tmux("capture-pane", "-p", "-S", "-", "-E", "-", "-t", "e2e").stdout
    finally:
        pane.close()
    # Several root commands (activation steps), but the user was asked twice only: wrong, then right.
    assert screen.count("password for alice") == 2, screen
    assert tb.status()["tb1"]["current_system"].endswith(tb.gen("2"))


def test_sudo_password_without_a_terminal_fails_clearly(tb):
    tb.set_generation("3", ["tb1"])
    rc, events, err = headless(tb, "deploy", "tb1", "--target", "tb1=alice@tb1")
    assert rc == 1, err
    f = finished(events)["tb1"]
    assert f["result"] == "failed"
    assert "no terminal to ask on" in f["error"] and "alice" in f["error"], f
    assert not tb.status()["tb1"]["current_system"].endswith(tb.gen("3"))


def test_passwordless_sudo_deploys_headless(tb):
    rc, events, err = headless(tb, "deploy", "tb2", "--target", "tb2=bob@tb2")
    assert rc == 0, err + json.dumps(run_summary(events))
    assert tb.status()["tb2"]["current_system"].endswith(tb.gen("1"))
    activate = stage_result(events, "tb2", "activate")
    assert activate["result"] == "ok", activate
    # Root's profile was set (nix-env ran as root through sudo), not bob's.
    link = subprocess.run(["readlink", os.path.join(tb.dir, "hosts", "tb2", "nix", "var", "nix", "profiles", "system")],
                          capture_output=True, text=True).stdout.strip()
    assert link == "system-1-link"


def empty_known_hosts_config(tb):
    """The testbed's ssh_config with an empty known_hosts of its own."""
    kh = os.path.join(tb.root, "kh-" + os.urandom(3).hex())
    open(kh, "w").close()
    cfg = kh + ".config"
    with open(os.path.join(tb.dir, "ssh_config")) as f:
        text = f.read().replace(f"UserKnownHostsFile {tb.dir}/known_hosts", f"UserKnownHostsFile {kh}")
    with open(cfg, "w") as f:
        f.write(text)
    return kh, cfg


def host_fingerprint(tb, host):
    pub = os.path.join(tb.dir, "hosts", host, "ssh_host_ed25519_key.pub")
    out = subprocess.run(["ssh-keygen", "-lf", pub], capture_output=True, text=True, check=True).stdout
    return out.split()[1]


def test_unknown_host_key_shows_fingerprint_and_waits_for_yes(tb):
    kh, cfg = empty_known_hosts_config(tb)
    args = [a if a != os.path.join(tb.dir, "ssh_config") else cfg for a in tb.fleet_args("deploy", "tb3")]
    pane = Pane(200, 50)
    try:
        pane.start_fleet(" ".join(shlex.quote(a) for a in args[1:]), env=pane_env(tb))
        screen = pane.wait_for("Are you sure you want to continue connecting (yes/no)?", timeout=120)
        assert host_fingerprint(tb, "tb3") in screen, screen
        assert "ED25519" in screen
        pane.type_line("yes")
        assert pane.wait_for_exit(timeout=180) == 0, pane.capture()
    finally:
        pane.close()
    with open(kh) as f:
        entries = f.read().split()
    assert "ssh-ed25519" in entries, entries
    assert tb.status()["tb3"]["current_system"].endswith(tb.gen("1"))


def test_unknown_host_key_refused_on_no_and_headless(tb):
    kh, cfg = empty_known_hosts_config(tb)
    args = [a if a != os.path.join(tb.dir, "ssh_config") else cfg for a in tb.fleet_args("deploy", "tb3")]
    pane = Pane(200, 50)
    try:
        pane.start_fleet(" ".join(shlex.quote(a) for a in args[1:]), env=pane_env(tb))
        pane.wait_for("Are you sure you want to continue connecting (yes/no)?", timeout=120)
        pane.type_line("no")
        assert pane.wait_for_exit(timeout=120) == 1
        assert "not accepted" in pane.tmux("capture-pane", "-p", "-S", "-", "-E", "-", "-t", "e2e").stdout
    finally:
        pane.close()
    assert open(kh).read() == "", "a refused key must not be added"
    # Headless (no terminal): fails at once, naming the fingerprint, as clan's ssh fails without a tty.
    r = subprocess.run(args + ["--json"], capture_output=True, text=True, env=tb.env(), timeout=120, start_new_session=True)
    assert r.returncode == 1
    events = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    msg = finished(events)["tb3"]["error"]
    assert "no terminal to ask on" in msg and host_fingerprint(tb, "tb3") in msg, msg
    assert open(kh).read() == ""


def test_changed_host_key_is_refused_without_asking(tb):
    tb.fault("tb3", "wrong-hostkey")
    try:
        pane = run_in_pane(tb, ["deploy", "tb3"])
        try:
            assert pane.wait_for_exit(timeout=120) == 1
            screen = pane.tmux("capture-pane", "-p", "-S", "-", "-E", "-", "-t", "e2e").stdout
        finally:
            pane.close()
        assert "Are you sure" not in screen
        assert "host key mismatch" in screen, screen
    finally:
        tb.fault("tb3", "clear")


def dashboard(tb, ssh_config=None, targets=""):
    env = {"FLEET_SSH_CONFIG": ssh_config or os.path.join(tb.dir, "ssh_config"), "FLEET_BUILD_FLAKE": "path:" + tb.flake,
           "NIX_CONFIG": tb.env()["NIX_CONFIG"], "XDG_STATE_HOME": tb.state, "TMPDIR": tb.tmp, "FLEET_NO_PROBES": "1",
           "FLEET_DEPLOY_TARGETS": targets}
    pane = Pane(160, 45)
    pane.start_fleet(args=f"--inventory {shlex.quote(tb.inventory)}", env=" ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()))
    pane.wait_for("tb3")
    return pane


def test_dashboard_asks_the_sudo_password_in_a_masked_field(tb):
    tb.set_generation("4", ["tb1"])
    pane = dashboard(tb, targets="tb1=alice@tb1")
    try:
        pane.send("Space")
        pane.wait_for("1 marked")
        pane.send("d")
        pane.wait_for("Deploy 1 machine")
        pane.send("y")
        screen = pane.wait_for("sudo on tb1", timeout=120)
        assert "password for alice" in screen, screen
        pane.tmux("send-keys", "-t", "e2e", "-l", PASSWORD)
        screen = pane.wait_for("•" * len(PASSWORD))
        assert PASSWORD not in screen
        pane.send("Enter")
        pane.wait_for("1 ok, 0 failed", timeout=180)
        full = pane.tmux("capture-pane", "-p", "-S", "-", "-E", "-", "-t", "e2e").stdout
        pane.send("q")
        assert pane.wait_for_exit() == 0
    finally:
        pane.close()
    assert PASSWORD not in full
    assert tb.status()["tb1"]["current_system"].endswith(tb.gen("4"))


def test_dashboard_shows_an_unknown_host_key_and_waits_for_yes(tb):
    kh, cfg = empty_known_hosts_config(tb)
    tb.set_generation("5", ["tb3"])
    pane = dashboard(tb, ssh_config=cfg)
    try:
        pane.send("j")
        pane.send("j")
        pane.send("Space")
        pane.wait_for("1 marked")
        pane.send("d")
        pane.wait_for("Deploy 1 machine")
        pane.send("y")
        screen = pane.wait_for("Unknown host key: tb3", timeout=120)
        assert host_fingerprint(tb, "tb3") in screen, screen
        assert "yes, trust it" in screen
        assert open(kh).read() == "", "nothing is trusted before the answer"
        pane.send("y")
        pane.wait_for("1 ok, 0 failed", timeout=180)
        pane.send("q")
        assert pane.wait_for_exit() == 0
    finally:
        pane.close()
    assert "ssh-ed25519" in open(kh).read()
    assert tb.status()["tb3"]["current_system"].endswith(tb.gen("5"))
