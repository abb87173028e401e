"""CLI polish: help with examples everywhere, completions, man pages, version, exit codes, JSON."""
import json
import re
import os
import shutil
import subprocess

from tmuxdriver import FLEET_BIN, REPO

MAN_DIR = os.path.join(REPO, ".build", "man")


def fleet(*args, **kw):
    return subprocess.run([FLEET_BIN, *args], capture_output=True, text=True, cwd=kw.pop("cwd", "/"), **kw)


def command_paths():
    """Every subcommand path, from the parser's own description of itself."""
    info = json.loads(fleet("--experimental-dump-help").stdout)

    def walk(cmd, prefix):
        out = [prefix]
        for sub in cmd.get("subcommands", []):
            if sub["commandName"] == "help" or not sub.get("shouldDisplay", True):
                continue  # hidden commands (bench-internal, for make bench) are not user-facing
            out += walk(sub, prefix + [sub["commandName"]])
        return out
    return walk(info["command"], [])


def test_every_command_has_help_with_examples():
    paths = command_paths()
    assert ["list"] in paths and ["secrets"] in paths
    missing = []
    for path in paths:
        r = fleet(*path, "--help")
        assert r.returncode == 0, (path, r.stderr)
        assert "USAGE:" in r.stdout, path
        if "SUBCOMMANDS:" not in r.stdout and "Examples" not in r.stdout:
            missing.append(" ".join(path))
    assert not missing, f"commands without examples in --help: {missing}"


def test_version():
    r = fleet("--version")
    assert r.returncode == 0 and r.stdout.strip()[0].isdigit()


def test_completions_generate_and_parse():
    for shell in ("bash", "zsh", "fish"):
        r = fleet("--generate-completion-script", shell)
        assert r.returncode == 0 and "fleet" in r.stdout and len(r.stdout) > 500, shell
    bash = fleet("--generate-completion-script", "bash").stdout
    subprocess.run(["bash", "-n"], input=bash, text=True, check=True)
    assert "secrets" in bash and "list" in bash


def test_man_pages_generated_for_every_command():
    assert os.path.isdir(MAN_DIR), "run `make man` (make test does) to generate the man pages"
    pages = set(os.listdir(MAN_DIR))
    for path in command_paths():
        name = ".".join(["fleet"] + path) + ".1"
        assert name in pages, f"no man page {name}"
    if shutil.which("groff"):
        out = subprocess.run(["groff", "-mandoc", "-Tutf8", os.path.join(MAN_DIR, "fleet.1")],
                             capture_output=True, text=True, check=True)
        text = re.sub(".\x08", "", out.stdout)   # drop overstrike bold
        assert "fleet.list(1)" in text and "fleet" in text.split("\n")[0].lower()


def test_exit_codes():
    assert fleet("list").returncode == 0
    bad = fleet("list", "--no-such-flag")
    assert bad.returncode == 64, (bad.returncode, bad.stderr)   # usage errors: EX_USAGE
    missing = fleet("list", "--inventory", "/nonexistent/fleet")
    assert missing.returncode == 1 and "/nonexistent/fleet" in missing.stderr
    # The UI refuses to start without a terminal instead of garbling a pipe.
    ui = fleet(stdin=subprocess.DEVNULL)
    assert ui.returncode == 1 and "needs a terminal" in ui.stderr


def test_show_json_and_list_tags():
    r = fleet("show", "cinnabar", "--json")
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    assert m["name"] == "cinnabar" and "zerotier/controller" in json.dumps(m)
    peers = json.loads(fleet("list", "--tags", "peer", "--json").stdout)
    assert sorted(x["name"] for x in peers) == ["electrum", "galena", "scheelite"]
    both = json.loads(fleet("list", "--tags", "peer", "gpu", "--json").stdout)
    assert [x["name"] for x in both] == ["scheelite"]
