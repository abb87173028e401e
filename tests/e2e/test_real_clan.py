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
from tmuxdriver import FLEET_BIN, REPO, Pane, wait_until


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
HOMELAB_CLEAN = "".join(f"Check results for machine '{m}': \nAll vars are present and valid.\n" for m in ["db", "gateway", "web"])


def clan_report(text):
    """clan's `vars check` text as {machine: {"secret"|"public"|"invalid": [ids]}}."""
    out, machine, cat = {}, None, None
    cats = {"Missing secret vars:": "secret", "Missing public vars:": "public",
            "Invalid generators (outdated invalidation hash):": "invalid"}
    for line in text.splitlines():
        m = re.match(r"Check results for machine '(.+)': $", line)
        if m:
            machine = m.group(1)
            out[machine] = {"secret": [], "public": [], "invalid": []}
        elif line in cats:
            cat = cats[line]
        elif line.startswith("  - "):
            out[machine][cat].append(line[4:])
    return out


def expected_vars_screen(report, graph):
    """What the Vars screen must show for clan's report over clan-core's vars graph (`clanVars`):
    {section: {generator: (status, {(file, secret): status})}} — each machine's own generators under
    it, every shared generator once under `shared`, and per machine the header's summary."""
    tree, headers = {"shared": {}}, {}
    for m, gens in graph.items():
        r = report[m]
        tree.setdefault(m, {})
        for g, d in gens.items():
            files = {}
            for f, fd in d["files"].items():
                fid = f"{g}/{f}"
                files[(f, fd["secret"])] = ("missing secret" if fid in r["secret"] else
                                            "missing value" if fid in r["public"] else "ok")
            problems = sum(st != "ok" for st in files.values())
            status = ("outdated (validation hash)" if g in r["invalid"] else
                      f"{problems} problem{'' if problems == 1 else 's'}" if problems else "ok")
            tree["shared" if d["share"] else m][g] = (status, files)
        parts = [f"{len(r['secret']) + len(r['public'])} missing"] if r["secret"] or r["public"] else []
        parts += [f"{len(r['invalid'])} outdated"] if r["invalid"] else []
        headers[m] = ", ".join(parts) or "ok"
    return tree, headers


def vars_screen(screen):
    """The Vars screen's tree as expected_vars_screen returns it (sections by indent 2, generators 4,
    files 6/8; a secret file has the 🔒 mark), plus each section's header status."""
    lines = screen.splitlines()
    top = next(i for i, l in enumerate(lines) if "GENERATOR / FILE" in l)
    tree, headers, section, gen = {}, {}, None, None
    for line in lines[top + 1:]:
        if line.startswith("─"):
            break
        line = line.replace("▶", " ", 1)
        indent = len(line) - len(line.lstrip(" "))
        cols = re.split(r"\s{2,}", line.strip())
        text, status = cols[0], (cols[1] if len(cols) > 1 else "")
        if indent == 2:
            section = text
            tree[section], headers[section] = {}, status
        elif indent == 4 and not text.startswith("shared: "):
            gen = text
            tree[section][gen] = (status, {})
        elif indent > 4:
            secret = text.startswith("🔒 ")
            tree[section][gen][1][(text[2:] if secret else text, secret)] = status
    return tree, headers


def start_tall_fleet(d, keys):
    """fleet on `d` in a pane tall enough for the whole homelab Vars tree (no scrolling)."""
    pane = Pane(130, 100)
    pane.start_fleet(f"--flake {d}", env=f"NIX_CONFIG={json.dumps(NIX_CONFIG)} SOPS_AGE_KEY_FILE={keys} XDG_CONFIG_HOME=/nonexistent")
    pane.wait_for("gateway", timeout=60)
    return pane


def assert_vars_screen_is(pane, report, graph):
    """The Vars screen (key 4) equals clan's report over clan-core's graph, row by row."""
    want, want_headers = expected_vars_screen(report, graph)
    pane.send("4")
    pane.wait_for("zerotier-network-zerotier", timeout=60)
    seen = {}

    def matches():
        seen["screen"] = pane.capture()
        try:
            seen["tree"] = vars_screen(seen["screen"])
        except (StopIteration, KeyError):
            return False
        return seen["tree"][0] == want
    wait_until(matches, timeout=60, message=lambda: f"Vars screen differs from clan's report:\n{seen['screen']}\nwant {want}")
    tree, headers = seen["tree"]
    for m, summary in want_headers.items():
        assert headers[m] == summary, (m, headers[m], summary)
    assert headers["shared"] == ("ok" if all(s == "ok" for s, _ in want["shared"].values()) else "problems")


def show_vars_screen(d, keys, report, graph):
    pane = start_tall_fleet(d, keys)
    try:
        assert_vars_screen_is(pane, report, graph)
        pane.send("q")
        assert pane.wait_for_exit() == 0
    finally:
        pane.close()


def test_homelab_vars_check_generate_check(real_clan, tmp_path):
    """Issue 13's done-when: `vars check` is clan's report, the Vars screen shows it row by row (every
    missing file and outdated generator it names, nothing else), `vars generate` creates everything in
    order, a second check is clean and the Vars screen shows every generator of clan-core's graph ok."""
    d, keys = admin_clan(real_clan, tmp_path, clan_nix("homelab.nix"))
    graph = real_clan.eval(d, "clanVars")               # clan-core's vars graph of every machine
    first = fleet("vars", "check", "--flake", d, keys=keys)
    assert first.returncode == 1, first.stderr
    assert first.stdout == HOMELAB_CHECK               # clan's categories and text (clan_lib/vars/check.py)
    show_vars_screen(d, keys, clan_report(HOMELAB_CHECK), graph)

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
    assert second.stdout == HOMELAB_CLEAN
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
    show_vars_screen(d, keys, clan_report(HOMELAB_CLEAN), graph)


def services_screen(screen):
    """The Services screen's rows: {(instance, role): (module, tags, machines)}."""
    lines = screen.splitlines()
    top = next(i for i, l in enumerate(lines) if "INSTANCE" in l and "MACHINES" in l)
    head = lines[top]
    cols = [head.index(c) for c in ("INSTANCE", "ROLE", "MODULE", "VIA TAGS", "MACHINES")] + [None]
    rows, instance = {}, None
    for line in lines[top + 1:]:
        if line.startswith("─"):
            break
        f = [line[cols[i]:cols[i + 1]].strip() for i in range(5)]
        instance = f[0] or instance
        rows[(instance, f[1])] = (f[2], f[3], f[4])
    return rows


def test_homelab_services_screen_is_clan_cores_resolution(real_clan, tmp_path):
    """Every instance and role of clan-core's evaluated inventory, its module and tags, and the
    machines clan-core itself resolves into the role (`_services.allServices.*.result.allRoles`)."""
    d = real_clan.flake(clan_nix("homelab.nix"))
    raw = real_clan.eval(d, "clanInternals.inventoryClass.inventorySerialization")
    resolved = real_clan.eval(d, "clan._services.allServices", apply=(
        "s: builtins.mapAttrs (_: v: builtins.mapAttrs (_: r: builtins.mapAttrs (_: i: builtins.attrNames i.allMachines)"
        " r.allInstances) v.result.allRoles) s"))
    members = {}
    for roles in resolved.values():
        for role, instances in roles.items():
            for inst, machines in instances.items():
                members[(inst, role)] = machines
    want = {}
    for inst, i in raw["instances"].items():
        module = i["module"]["name"] + (f"@{i['module']['input']}" if i["module"].get("input") else "")
        for role, r in i["roles"].items():
            want[(inst, role)] = (module, " ".join("@" + t for t in r.get("tags", {})), ", ".join(sorted(members[(inst, role)])) or "(none)")
    assert ("zerotier", "controller") in want and want[("zerotier", "controller")][2] == "gateway"
    pane = Pane(130, 40)
    try:
        pane.start_fleet(f"--flake {d}", env=f"NIX_CONFIG={json.dumps(NIX_CONFIG)} XDG_CONFIG_HOME=/nonexistent")
        pane.wait_for("gateway", timeout=60)
        pane.send("2")
        pane.wait_for("emergency-access", timeout=30)
        seen = {}

        def matches():
            seen["screen"] = pane.capture()
            seen["rows"] = services_screen(seen["screen"])
            return seen["rows"] == want
        wait_until(matches, timeout=30, message=lambda: f"Services screen != clan-core's:\n{seen['screen']}\nwant {want}")
        pane.send("q")
        assert pane.wait_for_exit() == 0
    finally:
        pane.close()


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


def test_vars_list_machine_is_clans_list(real_clan, tmp_path):
    """`fleet vars list web` prints what `clan vars list web` prints (clan_cli/vars/list.py:12): every
    file clan-core declares for web as `<gen>/<file>: <value>` (`********` for a secret, `<not set>`
    when absent; clan_lib/vars/var.py:79-88), whole lines sorted in code-point order — so
    `emergency-access/password-hash: …` comes before `emergency-access/password: ********`."""
    d, keys = admin_clan(real_clan, tmp_path, clan_nix("homelab.nix"))
    for g in ("emergency-access", "state-version"):      # some generated, the rest not set
        gen = fleet("vars", "generate", "web", "-g", g, "--flake", d, keys=keys)
        assert gen.returncode == 0, gen.stdout + gen.stderr
    graph = real_clan.eval(d, "clanVars")["web"]
    lines = []
    for g, gd in graph.items():
        where = f"vars/shared/{g}" if gd["share"] else f"vars/per-machine/web/{g}"
        for f, fd in gd["files"].items():
            p = os.path.join(d, where, f, "secret" if fd["secret"] else "value")
            value = "<not set>" if not os.path.exists(p) else "********" if fd["secret"] else open(p, "rb").read().decode()
            lines.append(f"{g}/{f}: {value}")
    want = "\n".join(sorted(lines)) + "\n"
    r = fleet("vars", "list", "web", "--flake", d, keys=keys)
    assert r.returncode == 0, r.stderr
    assert r.stdout == want
    assert want.index("emergency-access/password-hash: ") < want.index("emergency-access/password: ********")
    assert "openssh/ssh.id_ed25519: <not set>" in want and "state-version/version: 25.11" in want


def test_vars_screen_generates_one_peer_of_a_fresh_clan(real_clan, tmp_path):
    """`n` on a zerotier peer (db) in the Vars screen of a fresh homelab: db's shared network id needs
    the controller's identity, which only gateway declares. clan's own selection for one machine
    leaves it out and fails mid-run; fleet plans it first, the run completes, the screen shows db ok
    and `vars check db` agrees."""
    d, keys = admin_clan(real_clan, tmp_path, clan_nix("homelab.nix"))
    pane = start_tall_fleet(d, keys)
    try:
        pane.send("4")
        pane.wait_for("13 missing, 1 outdated", timeout=60)
        pane.send("n")                                   # the cursor is on db, the first machine
        screen = pane.wait_for("Generate 10 missing generators?", timeout=30)
        assert "zerotier-identity-gateway" in screen, screen
        pane.send("y")
        pane.wait_for("Prompt: user-password-admin/user-password", timeout=60)
        pane.tmux("send-keys", "-t", "e2e", "-l", "correct horse")
        pane.send("Enter")
        screen = pane.wait_for("Deploy the affected machines now?", timeout=180)
        assert "generated 10 generators" in screen and "db, gateway, web" in screen, screen
        pane.send("n")
        wait_until(lambda: re.search(r"▶ db\s+ok\n", pane.capture()), timeout=30,
                   message=lambda: "db is not ok on the Vars screen:\n" + pane.capture())
        screen = pane.capture()
        # What db's run made (the CA, the network id, gateway's identity — already deployed to gateway:
        # clan deploys a secret to every machine declaring it) is off the others' lists.
        assert re.search(r"\n  gateway\s+9 missing, 1 outdated", screen) and "no access" not in screen, screen
        assert re.search(r"\n  web\s+10 missing, 1 outdated", screen), screen
        pane.send("q")
        assert pane.wait_for_exit() == 0
    finally:
        pane.close()
    check = fleet("vars", "check", "db", "--flake", d, keys=keys)
    assert check.returncode == 0 and check.stdout == "Check results for machine 'db': \nAll vars are present and valid.\n", check.stdout
    got = fleet("vars", "get", "db", "user-password-admin/user-password", "--flake", d, keys=keys)
    assert got.returncode == 0 and got.stdout == "correct horse", got.stderr


def clan_python():
    """A Python clan-core's CLI runs on (it needs 3.12's generic class syntax), or None."""
    import glob
    import shutil
    candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[2-9]*/bin/python3")), reverse=True)
    candidates += [p for p in (shutil.which("python3.13"), shutil.which("python3.12"), shutil.which("python3")) if p]
    for p in candidates:
        r = subprocess.run([p, "-c", "import sys; sys.exit(sys.version_info < (3, 12))"], capture_output=True)
        if r.returncode == 0:
            return p
    return None


def run_clan_cli(real_clan, d, script, *args):
    """`script` run with clan-core's own clan_cli (the snapshot the flake is built on) importable."""
    py = clan_python()
    if py is None:
        pytest.skip("no Python >= 3.12 to run clan-core's clan_cli with")
    cli = os.path.join(real_clan.flake(clan_nix("homelab.nix")), ".clan-inputs", "clan-core", "pkgs", "clan-cli")
    env = dict(os.environ, PYTHONPATH=cli, PYENV_VERSION="")
    r = subprocess.run([py, "-c", script, d, *args], capture_output=True, text=True, env=env, cwd=d)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_a_var_shared_with_a_group_is_resolved_like_clan(real_clan, tmp_path):
    """A var shared with a sops group, laid out by clan-core's own code: `clan secrets groups
    add-user/add-machine` (groups.py: members `sops/groups/ops/{users,machines}/<n>` →
    `../../../{users,machines}/<n>`) and `allow_member` (secrets.py:300, as the vars store's
    `encrypt_secret(add_groups=…)` does: `<var>/groups/ops` → `../../../../../../sops/groups/ops`).
    clan's `collect_keys_for_path` (secrets.py:139) follows `groups/ops` before the members' `..`,
    so it wants ops' user and machine: fleet's `vars check` reports the var unfixed as clan does,
    `vars fix` encrypts it to exactly clan's recipients, and the group's user and machine decrypt it."""
    d, keys = admin_clan(real_clan, tmp_path, clan_nix("homelab.nix"))
    gen = fleet("vars", "generate", "web", "-g", "emergency-access", "--flake", d, keys=keys)
    assert gen.returncode == 0, gen.stdout + gen.stderr
    member_keys = {}
    for kind, name in (("users", "alice"), ("machines", "db")):
        member_keys[name] = str(tmp_path / f"{name}.txt")
        subprocess.run(["age-keygen", "-o", member_keys[name]], check=True, capture_output=True)
        pub = subprocess.run(["age-keygen", "-y", member_keys[name]], capture_output=True, text=True, check=True).stdout.strip()
        r = fleet("secrets", kind, "add", name, pub, "--flake", d, keys=keys)
        assert r.returncode == 0, r.stderr
    var = os.path.join(d, "vars/per-machine/web/emergency-access/password")
    run_clan_cli(real_clan, d, """
import sys
from pathlib import Path
from clan_cli.secrets import groups, secrets
from clan_cli.secrets.folders import sops_groups_folder, sops_machines_folder, sops_users_folder
clan, var = Path(sys.argv[1]), Path(sys.argv[2])
# `clan secrets groups add-user/add-machine` without their commit (clan_lib.git runs git through nix shell).
groups.add_member(clan, "ops", groups.users_folder, sops_users_folder, "alice", age_plugins=[])
groups.add_member(clan, "ops", groups.machines_folder, sops_machines_folder, "db", age_plugins=[])
secrets.allow_member(secrets.groups_folder(var), sops_groups_folder(clan), "ops", age_plugins=[], do_update_keys=False)
""", var)
    for args in (["add", "-A"], ["commit", "-qm", "secrets: share emergency-access/password with group ops"]):
        subprocess.run(["git", "-C", d, *args], check=True, capture_output=True)
    assert os.readlink(var + "/groups/ops") == "../../../../../../sops/groups/ops"
    assert os.readlink(d + "/sops/groups/ops/users/alice") == "../../../users/alice"
    assert os.readlink(d + "/sops/groups/ops/machines/db") == "../../../machines/db"

    clan_keys = """
import json, sys
from pathlib import Path
from clan_cli.secrets import secrets, sops
var = Path(sys.argv[2])
print(json.dumps({"wanted": sorted(k.pubkey for k in secrets.collect_keys_for_path(var)),
                  "current": sorted(k.pubkey for k in sops.get_recipients(var))}))
"""
    before = json.loads(run_clan_cli(real_clan, d, clan_keys, var))
    pubs = {n: subprocess.run(["age-keygen", "-y", k], capture_output=True, text=True, check=True).stdout.strip()
            for n, k in member_keys.items()}
    assert sorted(set(before["current"]) | set(pubs.values())) == before["wanted"], before

    check = fleet("vars", "check", "web", "--flake", d, keys=keys)
    assert check.returncode == 1
    assert "Unfixed secret vars:\n  - emergency-access/password\n" in check.stdout, check.stdout
    fix = fleet("vars", "fix", "web", "--flake", d, keys=keys)
    assert fix.returncode == 0, fix.stdout + fix.stderr
    after = json.loads(run_clan_cli(real_clan, d, clan_keys, var))
    assert after["current"] == after["wanted"] == before["wanted"], after
    check = fleet("vars", "check", "web", "--flake", d, keys=keys)
    assert "Unfixed" not in check.stdout, check.stdout
    value = fleet("vars", "get", "web", "emergency-access/password", "--flake", d, keys=keys)
    assert value.returncode == 0 and value.stdout, value.stderr
    for name, k in member_keys.items():
        got = fleet("vars", "get", "web", "emergency-access/password", "--flake", d, keys=k)
        assert got.returncode == 0 and got.stdout == value.stdout, (name, got.stderr)
