"""fleet on the real clan-core (../shared/real-clan, d7c35d9): `fleet list/show`, `vars check/
generate/list` and the Services and Vars screens on flakes made by tests/real-clan/make-flake.

The done-when scenario of issue 13 is tests/real-clan/homelab.nix, a clan written as a user writes it:
zerotier (controller + peers), an admin user with a prompted password, sshd with a host CA, and
emergency access. `vars check` gives clan's report, `vars generate` creates everything in order
(shared generators once), a second check is clean, and the Vars screen shows the same."""
import json
import os
import re
import subprocess

import pytest

from real_clan import NIX_CONFIG, clan_nix, nix_env
from tmuxdriver import FLEET_BIN, REPO


def fleet(*args, cwd=None, keys=None, **kw):
    env = nix_env(XDG_CONFIG_HOME="/nonexistent", SOPS_AGE_KEY="")
    env["SOPS_AGE_KEY_FILE"] = keys or "/nonexistent"
    return subprocess.run([FLEET_BIN, *args], capture_output=True, text=True, env=env, cwd=cwd, **kw)


def admin_clan(real_clan, tmp_path, text=None):
    """A private git copy of a real clan with an admin user `admin` (a real age key) committed."""
    d = real_clan.copy(tmp_path / "clan", text)
    keys = str(tmp_path / "admin.txt")
    subprocess.run(["age-keygen", "-o", keys], check=True, capture_output=True)
    pub = subprocess.run(["age-keygen", "-y", keys], capture_output=True, text=True, check=True).stdout.strip()
    r = fleet("secrets", "users", "add", "admin", pub, "--flake", d, keys=keys)
    assert r.returncode == 0, r.stderr
    # Committed like clan's `secrets users add` (an untracked key.json is invisible to the flake).
    assert subprocess.run(["git", "-C", d, "status", "--porcelain"], capture_output=True, text=True).stdout == ""
    return d, keys


def test_list_and_show_read_clan_cores_inventory(real_clan):
    d = real_clan.flake()
    raw = real_clan.eval(d, "clanInternals.inventoryClass.inventorySerialization")
    r = fleet("list", "--flake", d, "--json")
    assert r.returncode == 0, r.stderr
    listed = {m["name"]: m for m in json.loads(r.stdout)}
    assert sorted(listed) == sorted(raw["machines"])
    for name, m in raw["machines"].items():
        assert listed[name]["tags"] == m["tags"], name          # computed tags all/nixos/darwin included
        assert listed[name]["class"] == m["machineClass"]
        assert listed[name]["targetHost"] == m["deploy"]["targetHost"]
    assert sorted(listed["gamma"]["roles"]) == ["sshd/client", "zerotier/peer"]
    show = fleet("show", "alpha", "--flake", d, "--json")
    assert show.returncode == 0, show.stderr
    alpha = json.loads(show.stdout)
    assert "zerotier/controller" in alpha["roles"] and alpha["deploy"]["targetHost"] == "root@alpha.example.lan"


HOMELAB_CHECK = "".join(
    f"""Check results for machine '{m}': 
Missing secret vars:
  - emergency-access/password
  - openssh/ssh.id_ed25519
  - openssh-ca/id_ed25519
  - user-password-admin/user-password
  - user-password-admin/user-password-hash
  - zerotier-identity-{m}/identity-secret
Missing public vars:
  - emergency-access/password-hash
  - openssh/ssh.id_ed25519.pub
  - openssh-ca/id_ed25519.pub
  - openssh-cert/ssh.id_ed25519-cert.pub
  - state-version/version
  - zerotier-ip-{m}-zerotier/ip
  - zerotier-network-zerotier/network-id
Invalid generators (outdated invalidation hash):
  - openssh-cert
""" for m in ["db", "gateway", "web"])


def vars_filter(pane, text):
    pane.send("/")
    pane.tmux("send-keys", "-t", "e2e", "-l", text)
    pane.send("Enter")
    return pane.wait_for("zerotier-network-zerotier", timeout=30)


def test_homelab_vars_check_generate_check(real_clan, tmp_path, pane):
    d, keys = admin_clan(real_clan, tmp_path, clan_nix("homelab.nix"))
    first = fleet("vars", "check", "--flake", d, keys=keys)
    assert first.returncode == 1, first.stderr
    assert first.stdout == HOMELAB_CHECK               # clan's categories and text (clan_lib/vars/check.py)

    pw = tmp_path / "pw"
    pw.write_text("correct horse battery staple")
    gen = fleet("vars", "generate", "--flake", d, "--prompt-value", f"user-password-admin.user-password=@{pw}", keys=keys)
    assert gen.returncode == 0, gen.stdout + gen.stderr
    order = re.findall(r"^\[\d+/\d+\] (.+)$", gen.stdout, re.M)
    assert len(order) == len(set(order)) == 23, order  # every generator once: 8 shared + 5 per machine × 3
    assert order.count("zerotier-network-zerotier (shared)") == 1
    assert order.count("openssh-ca (shared)") == 1
    pos = {g: i for i, g in enumerate(order)}
    assert pos["zerotier-identity-gateway (shared)"] < pos["zerotier-network-zerotier (shared)"]
    for m in ["db", "gateway", "web"]:
        assert pos["zerotier-network-zerotier (shared)"] < pos[f"zerotier-ip-{m}-zerotier (shared)"]
        assert pos[f"zerotier-identity-{m} (shared)"] < pos[f"zerotier-ip-{m}-zerotier (shared)"]
        assert pos["openssh-ca (shared)"] < pos[f"openssh-cert (machine: {m})"]
        assert pos[f"openssh (machine: {m})"] < pos[f"openssh-cert (machine: {m})"]

    second = fleet("vars", "check", "--flake", d, keys=keys)
    assert second.returncode == 0, second.stdout
    assert second.stdout == "".join(f"Check results for machine '{m}': \nAll vars are present and valid.\n" for m in ["db", "gateway", "web"])
    # What the scripts made is what clan's services make: a network id from the controller's node id,
    # a certificate signed by the shared CA for <machine>.home.lan, the prompted password's hash.
    nwid = open(os.path.join(d, "vars/shared/zerotier-network-zerotier/network-id/value")).read()
    assert re.fullmatch(r"[0-9a-f]{16}", nwid), nwid
    cert = os.path.join(d, "vars/per-machine/web/openssh-cert/ssh.id_ed25519-cert.pub/value")
    info = subprocess.run(["ssh-keygen", "-L", "-f", cert], capture_output=True, text=True).stdout
    assert "web.home.lan" in info and "host certificate" in info
    got = fleet("vars", "get", "web", "user-password-admin/user-password", "--flake", d, keys=keys)
    assert got.returncode == 0 and got.stdout == "correct horse battery staple", got.stderr
    log = subprocess.run(["git", "-C", d, "log", "--format=%s"], capture_output=True, text=True).stdout.splitlines()
    assert "vars: update via generator zerotier-network-zerotier (shared)" in log
    assert subprocess.run(["git", "-C", d, "status", "--porcelain"], capture_output=True, text=True).stdout == ""

    # The Vars screen shows the same: every generator of every machine present.
    pane.start_fleet(f"--flake {d}", env=f"NIX_CONFIG={json.dumps(NIX_CONFIG)} SOPS_AGE_KEY_FILE={keys} XDG_CONFIG_HOME=/nonexistent")
    pane.wait_for("gateway", timeout=60)
    pane.send("4")
    screen = pane.wait_for("GENERATOR / FILE", timeout=60)
    screen = pane.wait_for("password-hash", timeout=60)
    assert re.search(r"▶ db\s+ok", screen) and re.search(r"\n  gateway\s+ok", screen), screen
    assert not re.search(r"\bmissing\b", screen), screen
    screen = vars_filter(pane, "zerotier-network")      # the shared generators: generated once, ok
    assert re.search(r"zerotier-network-zerotier\s+ok", screen), screen
    pane.send("q")
    assert pane.wait_for_exit() == 0


def test_homelab_vars_screen_before_generate_shows_clans_missing(real_clan, tmp_path, pane):
    d, keys = admin_clan(real_clan, tmp_path, clan_nix("homelab.nix"))
    pane.start_fleet(f"--flake {d}", env=f"NIX_CONFIG={json.dumps(NIX_CONFIG)} SOPS_AGE_KEY_FILE={keys} XDG_CONFIG_HOME=/nonexistent")
    pane.wait_for("gateway", timeout=60)
    pane.send("2")                                      # Services: clan-core's real services and roles
    screen = pane.wait_for("emergency-access", timeout=30)
    for needle in ["zerotier", "controller", "peer", "admin-user", "users", "sshd", "server", "client"]:
        assert needle in screen, needle
    pane.send("4")
    screen = pane.wait_for("password-hash", timeout=60)
    # The same as clan's report above: 6 missing secrets + 7 missing public values, 1 outdated.
    for m in ["db", "gateway", "web"]:
        assert re.search(m + r"\s+13 missing, 1 outdated", screen), screen
    screen = vars_filter(pane, "zerotier-network")
    assert re.search(r"zerotier-network-zerotier\s+(1 problem|missing)", screen), screen
    pane.send("q")
    assert pane.wait_for_exit() == 0


def test_vars_check_without_a_clan_is_the_demo(tmp_path):
    r = fleet("vars", "check", "--json", cwd=str(tmp_path))
    demo = fleet("vars", "check", "--json", "--inventory", os.path.join(REPO, "inventory"))
    assert r.returncode == demo.returncode == 1
    assert r.stdout == demo.stdout
    assert "DEMO" in r.stderr and "DEMO" not in demo.stderr
    listed = fleet("list", cwd=str(tmp_path))
    assert listed.returncode == 0 and "DEMO" in listed.stderr and "cinnabar" in listed.stdout


def with_line(text, after, line):
    return text.replace(after, after + "\n  " + line, 1)


def test_a_clan_whose_vars_live_in_a_subfolder(real_clan, tmp_path):
    """clan.directory = ./clan: vars, sops and inventory.json live in clan/ (relativeDirectory)."""
    text = with_line(clan_nix("homelab.nix"), 'meta.name = "homelab";', "directory = ./clan;")
    src = real_clan.flake(text)
    os.makedirs(os.path.join(src, "clan"), exist_ok=True)
    open(os.path.join(src, "clan", "README"), "w").write("the clan directory\n")
    d, keys = admin_clan(real_clan, tmp_path, text)
    assert os.path.exists(os.path.join(d, "clan/sops/users/admin/key.json"))
    assert not os.path.exists(os.path.join(d, "sops"))
    gen = fleet("vars", "generate", "web", "-g", "emergency-access", "--flake", d, keys=keys)
    assert gen.returncode == 0, gen.stdout + gen.stderr
    assert os.path.exists(os.path.join(d, "clan/vars/per-machine/web/emergency-access/password-hash/value"))
    assert not os.path.exists(os.path.join(d, "vars"))
    ok = fleet("vars", "check", "web", "-g", "emergency-access", "--flake", d, keys=keys)
    assert ok.returncode == 0 and "All vars are present and valid." in ok.stdout, ok.stdout + ok.stderr
    listed = fleet("vars", "list", "--json", "--flake", d, keys=keys)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["orphanMachines"] == []


def test_a_password_store_clan_is_refused_clearly(real_clan):
    d = real_clan.flake(with_line(clan_nix("homelab.nix"), 'meta.name = "homelab";', 'vars.settings.secretStore = "password-store";'))
    for args in (["vars", "check"], ["vars", "list"], ["secrets", "list"]):
        r = fleet(*args, "--flake", d)
        assert r.returncode != 0, args
        assert '"password-store"' in r.stderr and 'supports only "sops"' in r.stderr, r.stderr
        assert "Traceback" not in r.stderr and r.stdout == ""


def test_a_machine_only_in_nix_is_not_an_orphan(real_clan, tmp_path):
    """The example clan has no inventory.json: every machine comes from Nix. Vars of beta on disk
    are beta's, not an orphan's; vars of a machine that no longer exists are."""
    d = real_clan.copy(tmp_path / "clan")
    for m in ["beta", "gone"]:
        p = os.path.join(d, f"vars/per-machine/{m}/state-version/version")
        os.makedirs(p)
        open(os.path.join(p, "value"), "w").write("25.11")
    r = fleet("vars", "list", "--json", "--flake", d)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["orphanMachines"] == ["gone"]


def test_a_hostile_machine_name_is_refused_by_every_command(tmp_path):
    d = tmp_path / "clan"
    d.mkdir()
    (d / "inventory.json").write_text(json.dumps({"meta": {"name": "x"}, "machines": {"web;reboot": {}}}))
    for args in (["list"], ["show", "web"], ["vars", "check"], ["vars", "list"], ["secrets", "list"], ["deploy", "--dry-run"]):
        r = fleet(*args, "--inventory", str(d))
        assert r.returncode != 0, args
        assert 'invalid machine name "web;reboot"' in r.stderr and "inventory.json: machines" in r.stderr, (args, r.stderr)
