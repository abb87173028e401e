"""An installed `fleet` is one file. Copied alone into an empty directory, run with an empty HOME
and XDG directories and with the source tree it was built from out of sight (bwrap mounts an
empty tmpfs over it), it still opens the demo fleet and finds its themes: both are built into the
binary (Plugins/EmbedFiles). A binary that reads them from its source tree (`#filePath`) fails
here, which a plain copy elsewhere would not show — the source tree would still be there."""
import os
import shlex
import shutil
import signal
import subprocess

import pytest

from tmuxdriver import FLEET_BIN, REPO, Pane, wait_until

DEMO = ["argentum", "blackphos", "cinnabar", "electrum", "galena", "rosegold", "scheelite", "stibnite"]


def source_trees():
    """This repository and the package the binary was built in (above its real path)."""
    trees = {REPO}
    p = os.path.dirname(os.path.realpath(FLEET_BIN))
    while p != "/":
        if os.path.exists(os.path.join(p, "Package.swift")):
            trees.add(p)
            break
        p = os.path.dirname(p)
    return sorted(trees)


@pytest.fixture
def installed(tmp_path):
    """(argv prefix running a command in the install, environment): `fleet` copied alone into
    tmp_path/bin, cwd an empty directory, the source trees hidden."""
    if shutil.which("bwrap") is None:
        pytest.fail("bwrap is missing: `make test` installs it (tools/install-deps)")
    hidden = source_trees()
    assert not any(str(tmp_path).startswith(t + "/") for t in hidden), "the install must lie outside the source tree"
    for d in ("bin", "cwd", "home", "config", "cache", "state"):
        (tmp_path / d).mkdir()
    shutil.copy2(FLEET_BIN, tmp_path / "bin" / "fleet")
    assert os.listdir(tmp_path / "bin") == ["fleet"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path / "home"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "XDG_STATE_HOME": str(tmp_path / "state"), "LANG": "C.UTF-8", "TERM": "xterm-256color", "FLEET_NO_PROBES": "1"}
    prefix = ["bwrap", "--dev-bind", "/", "/"]
    for t in hidden:
        prefix += ["--tmpfs", t]
    prefix += ["--chdir", str(tmp_path / "cwd"), "--", "env", "-i"] + [f"{k}={v}" for k, v in env.items()]
    return prefix, str(tmp_path / "bin" / "fleet"), tmp_path


def test_copied_binary_alone_lists_the_demo(installed):
    prefix, fleet, tmp = installed
    # The source tree really is out of sight in there.
    r = subprocess.run(prefix + ["ls", "-A", REPO], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr
    r = subprocess.run(prefix + [fleet, "list"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "DEMO" in r.stderr, r.stderr
    names = [line.split()[0] for line in r.stdout.splitlines()[1:] if line.strip()]
    assert names == DEMO, r.stdout
    # Unpacked into the cache it was pointed at; nothing written into the empty cwd.
    cached = sorted(p.name for p in (tmp / "cache" / "fleet").iterdir())
    assert len(cached) == 2 and cached[1] == cached[0] + ".lock" and cached[0].startswith("demo-"), cached
    assert os.listdir(tmp / "cwd") == []
    # Still read-only, as the demo always was.
    r = subprocess.run(prefix + [fleet, "tag", "add", "cinnabar", "x"], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "demo fleet is read-only" in r.stderr, r.stderr


def test_copied_binary_alone_finds_the_themes(installed):
    prefix, fleet, tmp = installed
    pane = Pane(120, 40)
    try:
        pane.type_line(" ".join(shlex.quote(a) for a in prefix + [fleet, "--theme", "light"]) + "; echo EXIT=$?")
        screen = pane.wait_for("stibnite")
        assert "not found" not in screen, screen
        # The built-in names complete in the palette, and one loads.
        pane.send(":")
        pane.wait_for("Command")
        pane.tmux("send-keys", "-t", "e2e", "-l", "theme hi")
        pane.send("Tab")
        pane.wait_for(":theme high-contrast")
        pane.send("Enter")
        screen = wait_until(lambda: (lambda s: ":theme" not in s and "theme high-contrast" in s and s)(pane.capture()), 20,
                            message=lambda: "no 'theme high-contrast' toast; screen:\n" + pane.capture())
        assert "not found" not in screen, screen
        pane.send("q")
        assert pane.wait_for_exit() == 0
    finally:
        pane.close()


def test_other_versions_demo_copies_are_pruned_unless_running(tmp_path):
    """A demo copy of another fleet version goes when fleet next unpacks or opens its own, unless a
    running fleet holds that copy's lock (another process here: util-linux `flock -s`, the lock a
    fleet of that version holds while it runs); what a copy links to outside the cache stays."""
    cache = tmp_path / "cache" / "fleet"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep")
    for old in ("demo-0123abcd", "demo-4567ef"):
        (cache / old / "vars").mkdir(parents=True)
        (cache / old / "inventory.json").write_text("{}")
        (cache / old / "vars" / "out").symlink_to(outside)
        (cache / (old + ".lock")).touch()
    lock = str(cache / "demo-4567ef.lock")
    holder = subprocess.Popen(["flock", "-s", lock, "sleep", "600"], start_new_session=True)   # sleep inherits the lock
    try:
        wait_until(lambda: subprocess.run(["flock", "-n", "-x", lock, "true"]).returncode == 1, 20,
                   message="flock -s never took the lock")
        env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_STATE_HOME=str(tmp_path / "state"),
                   XDG_CONFIG_HOME=str(tmp_path / "config"), FLEET_NO_PROBES="1")
        env.pop("FLEET_DEMO_DIR", None)
        r = subprocess.run([FLEET_BIN, "list"], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
        assert r.returncode == 0 and "DEMO" in r.stderr, r.stderr
        names = sorted(p.name for p in cache.iterdir())
        ours = [n for n in names if n.startswith("demo-") and n not in ("demo-4567ef", "demo-4567ef.lock")]
        assert len(ours) == 2 and ours[1] == ours[0] + ".lock", names   # the old, unheld copy is gone
        assert "demo-4567ef" in names and "demo-4567ef.lock" in names, names
        assert (outside / "precious").read_text() == "keep"
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
        wait_until(lambda: subprocess.run(["flock", "-n", "-x", lock, "true"]).returncode == 0, 20,
                   message="the killed holder (sleep) still holds the lock")
    # Its fleet has exited: the next start prunes that copy too.
    r = subprocess.run([FLEET_BIN, "list"], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert not any(n.startswith("demo-4567ef") for n in os.listdir(cache)), os.listdir(cache)
    assert (outside / "precious").read_text() == "keep"
