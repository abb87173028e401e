"""Flake-level ("per-export") generators on the real clan-core (tests/real-clan/exports.nix, shaped
like clan-core's own test_flake_level_generators): `fleet vars check` reports them per export key in
clan's categories, `fleet vars generate` runs them in dependency order with the machines' generators
and writes `vars/per-export/<key>/<gen>/<file>` as clan's sops and in_repo stores do (checked with the
real `age` CLI and an independent sops reader), `fleet vars list` and the Vars screen show them.

clan-core d7c35d9 itself evaluates them (clan_lib/vars/generate.py:380-438) and adds them to every
machine's upload (vars/upload.py:13-15) but its `vars check/list/generate` commands do not look at
them (vars/check.py:62, vars/list.py:25, clan_cli/vars/generate.py:33); `run_flake_generators`
(generate.py:441-458) is only called from its tests."""
import json
import os
import re
import subprocess

from real_clan import NIX_CONFIG, clan_nix
from test_real_clan import admin_clan, fleet
from tmuxdriver import FLEET_BIN, REPO

SOPS_DECRYPT = os.path.join(REPO, "Tests", "FleetModelTests", "Fixtures", "vars", "tools", "sops_age_decrypt.py")
SOPS_MAC = os.path.join(REPO, "Tests", "FleetModelTests", "Fixtures", "tools", "sops_mac.py")

CHECK_BEFORE = """Check results for machine 'db': 
Missing public vars:
  - state-version/version
Check results for machine 'web': 
Missing public vars:
  - state-version/version
Check results for flake-level generators of export 'A': 
Missing secret vars:
  - one/foo
  - web-boot/key
Invalid generators (outdated invalidation hash):
  - one
  - web-boot
Check results for flake-level generators of export 'B': 
Missing secret vars:
  - boot/key
  - two/foo
Missing public vars:
  - one/foo
Invalid generators (outdated invalidation hash):
  - boot
  - one
  - two
"""


def decrypts(secret, key_file):
    return subprocess.run(["python3", SOPS_DECRYPT, "--batch", key_file, secret], capture_output=True, text=True).stdout.split(" ")[0]


def test_flake_level_generators_check_generate_list_and_screen(real_clan, tmp_path, pane):
    d, keys = admin_clan(real_clan, tmp_path, clan_nix("exports.nix"))
    first = fleet("vars", "check", "--flake", d, keys=keys)
    assert first.returncode == 1, first.stderr
    assert first.stdout == CHECK_BEFORE

    # For one machine: the flake-level generators it receives (db: B/boot only).
    db = fleet("vars", "check", "db", "--flake", d, keys=keys)
    assert db.stdout.endswith("Check results for flake-level generators of export 'B': \nMissing secret vars:\n  - boot/key\n"
                              "Invalid generators (outdated invalidation hash):\n  - boot\n"), db.stdout

    gen = fleet("vars", "generate", "--flake", d, keys=keys)
    assert gen.returncode == 0, gen.stdout + gen.stderr
    order = re.findall(r"^\[\d+/\d+\] (.+)$", gen.stdout, re.M)
    # Dependencies first (B/one reads A/one, B/two reads B/one); clan's sort key (placement, name).
    assert order == ["one (export: A)", "web-boot (export: A)", "boot (export: B)", "one (export: B)", "two (export: B)",
                     "state-version (machine: db)", "state-version (machine: web)"], order
    second = fleet("vars", "check", "--flake", d, keys=keys)
    assert second.returncode == 0, second.stdout
    assert second.stdout.count("All vars are present and valid.") == 4, second.stdout
    assert json.loads(fleet("vars", "check", "--json", "--flake", d, keys=keys).stdout)["exports"][1]["exportKey"] == "B"

    # On disk as clan writes them.
    b = os.path.join(d, "vars", "per-export", "B")
    assert open(os.path.join(b, "one", "foo", "value")).read() == "hello\nworld!\n"
    for g in ["boot", "one", "two"]:
        assert open(os.path.join(b, g, ".validation-hash")).read() == "abc"     # generate.py:434
    assert os.readlink(os.path.join(b, "two", "foo", "machines", "web")) == "../../../../../../sops/machines/web"
    assert sorted(os.listdir(os.path.join(b, "boot", "key", "machines"))) == ["db", "web"]
    assert not os.path.exists(os.path.join(d, "vars", "per-export", "A", "one", "foo", "machines"))
    # A real sops file (MAC verified independently) that the admin and the deploy machines open with
    # the real age, and no other machine.
    mac = json.loads(subprocess.run(["python3", SOPS_MAC, os.path.join(b, "two", "foo", "secret"), keys],
                                    capture_output=True, text=True).stdout)
    assert mac["mac_ok"] and bytes.fromhex(mac["data_hex"]) == b"hello\nworld!\nworld!\n"
    for m in ["web", "db"]:
        k = json.loads(subprocess.run(["python3", SOPS_MAC, os.path.join(d, "sops", "secrets", f"{m}-age.key", "secret"), keys],
                                      capture_output=True, text=True).stdout)
        key_file = tmp_path / f"{m}.key"
        key_file.write_bytes(bytes.fromhex(k["data_hex"]))
        assert decrypts(os.path.join(b, "two", "foo", "secret"), str(key_file)) == ("ok" if m == "web" else "denied"), m
        assert decrypts(os.path.join(b, "boot", "key", "secret"), str(key_file)) == "ok", m
    log = subprocess.run(["git", "-C", d, "log", "--format=%s"], capture_output=True, text=True).stdout.splitlines()
    assert "vars: update via generator two (export: B)" in log
    assert subprocess.run(["git", "-C", d, "status", "--porcelain"], capture_output=True, text=True).stdout == ""

    rotate = fleet("vars", "rotate", "-g", "one", "--export", "B", "--dry-run", "--flake", d, keys=keys)
    assert rotate.returncode == 0 and "  - one (export: B)\n  - two (export: B)\nAffected machines: web\n" in rotate.stdout, rotate.stdout + rotate.stderr

    listed = fleet("vars", "list", "--flake", d, keys=keys)
    assert "export: B\tone/foo\tpublic\t\n" in listed.stdout, listed.stdout
    [two] = [line.split("\t") for line in listed.stdout.splitlines() if line.startswith("export: B\ttwo/foo\t")]
    assert two[2] == "secret" and sorted(two[3].split(",")) == ["machine:web", "user:admin"], two   # in key order

    # The Vars screen: a group per export key, after the machines.
    pane.start_fleet(f"--flake {d}", env=f"NIX_CONFIG={json.dumps(NIX_CONFIG)} SOPS_AGE_KEY_FILE={keys} XDG_CONFIG_HOME=/nonexistent")
    pane.wait_for("web", timeout=60)
    pane.send("4")
    screen = pane.wait_for("export: B", timeout=60)
    assert re.search(r"export: A\s+ok", screen) and re.search(r"export: B\s+ok", screen), screen
    pane.send("q")
    assert pane.wait_for_exit() == 0


def test_deploy_uploads_flake_level_activation_files_to_their_machines(real_clan, tmp_path):
    """`fleet deploy` of the real clan's web and db to testbed hosts (real sshd, real nix; the
    system itself comes from the testbed's flake, as clan-core's toplevel does not build offline).
    Before activation each host gets its age key and the flake-level activation files listed for it
    (`activation/per-export/<key>/<gen>/<file>`, 0400): web both, db only B/boot. clan-core d7c35d9
    would stop here instead ("Generator cannot be None", clan_lib/vars/var.py:38-41), and would send
    every flake-level activation file to every machine (vars/upload.py:13-15, sops.py:253-268)."""
    from testbed_support import TESTBED, DeployTestbed
    d, keys = admin_clan(real_clan, tmp_path, clan_nix("exports.nix"))
    tb = DeployTestbed(2, names=["web", "db"])
    try:
        env = tb.env()
        env.update({"NIX_CONFIG": NIX_CONFIG, "SOPS_AGE_KEY_FILE": keys, "SOPS_AGE_KEY": "", "XDG_CONFIG_HOME": "/nonexistent"})
        # No `vars generate` first: the deploy generates what web and db receive (vars before deploy).
        argv = [FLEET_BIN, "deploy", "web", "db", "--flake", d, "--ssh-config", os.path.join(tb.dir, "ssh_config"),
                "--build-flake", "path:" + tb.flake, "--target", "web=root@web", "--target", "db=root@db", "--json"]
        r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        events = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        assert sorted(next(e for e in events if e["type"] == "run_finished")["ok"]) == ["db", "web"]

        def on_host(host, *cmd):
            return subprocess.run([TESTBED, "exec", host, "--", *cmd], env=dict(os.environ, TESTBED_DIR=tb.dir),
                                  capture_output=True, text=True, timeout=60).stdout

        expected = {
            "web": {"key.txt", "activation/per-export/A/web-boot/key", "activation/per-export/B/boot/key"},
            "db": {"key.txt", "activation/per-export/B/boot/key"},
        }
        for host, files in expected.items():
            found = [line.split(" ", 2) for line in on_host(host, "find", "/var/lib/sops-nix", "-mindepth", "1", "-type", "f",
                                                              "-printf", "%m %u %P\n").splitlines()]
            assert {f[2] for f in found} == files, (host, found)
            assert all(f[:2] == ["400", "root"] for f in found), (host, found)
            assert on_host(host, "cat", "/var/lib/sops-nix/activation/per-export/B/boot/key") == "boot-key\n"
        assert on_host("web", "cat", "/var/lib/sops-nix/activation/per-export/A/web-boot/key") == "web-only\n"
        # The uploaded machine key is the one clan stores for web (sops/secrets/web-age.key).
        pub = json.load(open(os.path.join(d, "sops", "machines", "web", "key.json")))[0]["publickey"]
        key_txt = tmp_path / "web-uploaded.txt"
        key_txt.write_text(on_host("web", "cat", "/var/lib/sops-nix/key.txt"))
        assert subprocess.run(["age-keygen", "-y", str(key_txt)], capture_output=True, text=True).stdout.strip() == pub
    finally:
        tb.close()
