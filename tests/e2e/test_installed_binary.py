"""An installed `fleet` is one file. Copied alone into an empty directory, run with an empty HOME
and XDG directories and with the source tree it was built from out of sight (bwrap mounts an
empty tmpfs over it), it still opens the demo fleet and finds its themes: both are built into the
binary (Plugins/EmbedFiles). A binary that reads them from its source tree (`#filePath`) fails
here, which a plain copy elsewhere would not show — the source tree would still be there."""
import os
import shlex
import shutil
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
    assert [p.name.startswith("demo-") for p in (tmp / "cache" / "fleet").iterdir()] == [True]
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
