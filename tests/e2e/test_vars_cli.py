"""`fleet vars` end to end: the real binary on the demo clan and on private git copies of it.

The fault test kills `fleet vars rotate` with SIGKILL at random moments and checks after every kill
that each var is either exactly its old bytes or a complete, valid new var."""
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from fault_support import iterations, processes_mentioning, record
from tmuxdriver import FLEET_BIN, REPO, wait_until

DEMO = os.path.join(REPO, "inventory")
KEYS = os.path.join(DEMO, "demo-keys")
DECRYPT = os.path.join(REPO, "Tests", "FleetModelTests", "Fixtures", "vars", "tools", "sops_age_decrypt.py")


def fleet(*args, key="cameron", check=False, **kw):
    env = dict(os.environ, SOPS_AGE_KEY_FILE=os.path.join(KEYS, f"{key}.txt"), SOPS_AGE_KEY="", XDG_CONFIG_HOME="/nonexistent")
    return subprocess.run([FLEET_BIN, "vars", *args], capture_output=True, text=True, env=env, check=check, **kw)


@pytest.fixture
def demo_copy(tmp_path):
    d = tmp_path / "clan"
    d.mkdir()
    for item in ["inventory.json", "systems.json", "generators.json"]:
        shutil.copy(os.path.join(DEMO, item), d / item)
    for item in ["sops", "vars"]:
        shutil.copytree(os.path.join(DEMO, item), d / item, symlinks=True)
    for args in (["init", "-q"], ["config", "user.name", "t"], ["config", "user.email", "t@example.invalid"],
                 ["add", "-A"], ["commit", "-qm", "demo"]):
        subprocess.run(["git", *args], cwd=d, check=True)
    return str(d)


def test_check_json_reports_exactly_the_deliberate_problems():
    r = fleet("check", "--json", "--repo", DEMO)
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    problems = sorted(f"{p['machine']} {p['generator']} {p.get('file', '-')} {p['kind']}"
                      for m in doc["machines"] for p in m["problems"])
    assert problems == [
        "cinnabar radicle ssh-public-key missing-public",
        "electrum zfs key missing-secret",
        "galena openssh-cert - invalid",
        "scheelite tor_tor hostname unfixed",
        "scheelite user-password-tara user-password-hash missing-access",
    ]
    drift = next(p for m in doc["machines"] for p in m["problems"] if p["kind"] == "unfixed")
    raquel = subprocess.run(["age-keygen", "-y", os.path.join(KEYS, "raquel.txt")], capture_output=True, text=True).stdout.strip()
    assert drift["addedKeys"] == [f"age:{raquel}"]


def test_check_text_is_clans_report():
    r = fleet("check", "galena", "electrum", "--repo", DEMO)
    assert r.returncode == 1
    assert "Check results for machine 'electrum': \nMissing secret vars:\n  - zfs/key\n" in r.stdout
    assert "Check results for machine 'galena': \nInvalid generators (outdated invalidation hash):\n  - openssh-cert\n" in r.stdout
    ok = fleet("check", "galena", "-g", "openssh", "--repo", DEMO)
    assert ok.returncode == 0 and "All vars are present and valid." in ok.stdout


def test_list_json_without_definitions_shows_orphans(tmp_path):
    d = tmp_path / "nodefs"
    shutil.copytree(DEMO, d, symlinks=True, ignore=shutil.ignore_patterns("generators.json", "demo-keys"))
    r = fleet("list", "--json", "--repo", str(d), check=True)
    doc = json.loads(r.stdout)
    assert doc["orphanMachines"] == ["gcp-vm"]
    assert doc["unknownKeys"] == []
    hostname = next(v for v in doc["vars"] if v["machine"] == "scheelite" and v["generator"] == "tor_tor" and v["file"] == "hostname")
    assert hostname["drift"] is True and hostname["links"]["users"] == ["cameron", "raquel"]
    version = next(v for v in doc["vars"] if v["machine"] == "galena" and v["generator"] == "state-version")
    assert version["kind"] == "public" and version["value"] == "25.05"
    assert fleet("check", "--repo", str(d)).returncode != 0  # no definitions: a clear error, not a crash


def test_get_public_and_secret():
    assert fleet("get", "galena", "state-version/version", "--repo", DEMO).stdout == "25.05"
    host = fleet("get", "galena", "tor_tor/hostname", "--repo", DEMO, check=True).stdout
    assert host.endswith(".onion\n")
    denied = fleet("get", "cinnabar", "tor_tor/hostname", "--repo", DEMO)  # cameron is not a recipient
    assert denied.returncode != 0 and "onion" not in denied.stdout


def test_rotate_cli_commits_one_per_generator(demo_copy):
    before = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=demo_copy, capture_output=True, text=True).stdout
    env_keys = open(os.path.join(KEYS, "cameron.txt")).read() + open(os.path.join(KEYS, "crs58.txt")).read()
    r = subprocess.run([FLEET_BIN, "vars", "rotate", "cinnabar", "-g", "openssh-ca", "--repo", demo_copy], capture_output=True, text=True,
                       env=dict(os.environ, SOPS_AGE_KEY=env_keys, SOPS_AGE_KEY_FILE="", XDG_CONFIG_HOME="/nonexistent"))
    assert r.returncode == 0, r.stderr + r.stdout
    assert "Machines to deploy: cinnabar, electrum, galena, scheelite" in r.stdout
    log = subprocess.run(["git", "log", "--format=%s", f"-{5}"], cwd=demo_copy, capture_output=True, text=True).stdout.split("\n")
    assert log[:5] == [f"vars: update via generator openssh-cert (machine: {m})" for m in ["scheelite", "galena", "electrum", "cinnabar"]] \
        + ["vars: update via generator openssh-ca (shared)"]
    after = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=demo_copy, capture_output=True, text=True).stdout
    assert int(after) - int(before) == 5
    assert subprocess.run(["git", "status", "--porcelain"], cwd=demo_copy, capture_output=True, text=True).stdout == ""


ROTATED = ["vars/shared/openssh-ca/id_ed25519", "vars/shared/openssh-ca/id_ed25519.pub"] + \
    [f"vars/per-machine/{m}/openssh-cert/ssh.id_ed25519-cert.pub" for m in ["cinnabar", "electrum", "galena", "scheelite"]]


def var_state(clan, rel):
    """(files, links) of one var directory: exact bytes, for comparing old and new."""
    d = os.path.join(clan, rel)
    out = {}
    for root, dirs, files in os.walk(d):
        for f in files + [x for x in dirs if os.path.islink(os.path.join(root, x))]:
            p = os.path.join(root, f)
            key = os.path.relpath(p, d)
            out[key] = ("-> " + os.readlink(p)).encode() if os.path.islink(p) else open(p, "rb").read()
    return out


def assert_complete(clan, rel):
    """A var that changed must be a whole new var: only `secret` or `value` plus links, and valid."""
    # Hidden `.secret.tmp-…` siblings of a killed write may remain; the next run removes them.
    visible = sorted(n for n in os.listdir(os.path.join(clan, rel)) if not n.startswith("."))
    assert visible in (["secret", "users"], ["secret", "machines", "users"], ["value"]), f"{rel}: {visible}"
    if "secret" in visible:
        r = subprocess.run(["python3", DECRYPT, os.path.join(clan, rel, "secret"), os.path.join(KEYS, "cameron.txt")], capture_output=True)
        assert r.returncode == 0, f"{rel}: new secret does not decrypt: {r.stderr}"
        assert r.stdout.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----"), rel
    else:
        value = open(os.path.join(clan, rel, "value"), "rb").read()
        assert value.startswith(b"ssh-ed25519"), f"{rel}: truncated value {value[:40]!r}"
        if "cert" in rel:
            r = subprocess.run(["ssh-keygen", "-L", "-f", os.path.join(clan, rel, "value")], capture_output=True)
            assert r.returncode == 0, f"{rel}: not a certificate"


def test_sigkill_during_rotation_never_leaves_a_broken_var(demo_copy):
    env = dict(os.environ, SOPS_AGE_KEY=open(os.path.join(KEYS, "cameron.txt")).read() + open(os.path.join(KEYS, "crs58.txt")).read(),
               SOPS_AGE_KEY_FILE="", XDG_CONFIG_HOME="/nonexistent")
    argv = [FLEET_BIN, "vars", "rotate", "cinnabar", "-g", "openssh-ca", "--repo", demo_copy]
    # Calibrate: how long a whole rotation takes here.
    t0 = time.monotonic()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    full = time.monotonic() - t0
    rng = random.Random(1234)
    changed_runs, torn = 0, 0
    runs = iterations(50, 300)
    for i in range(runs):
        old = {rel: var_state(demo_copy, rel) for rel in ROTATED}
        p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, full))
        p.send_signal(signal.SIGKILL)
        p.wait()
        # Children in their own process group finish or die with their parent (bwrap).
        wait_until(lambda: not processes_mentioning(demo_copy, exclude_sshd=False), 10, interval=0.02, fail=False)
        for rel in ROTATED:
            now = var_state(demo_copy, rel)
            if now != old[rel]:
                changed_runs += 1
                try:
                    assert_complete(demo_copy, rel)
                except AssertionError:
                    torn += 1
                    record("sigkill_during_rotation", runs=i + 1, torn_writes=torn)
                    raise
    record("sigkill_during_rotation", runs=runs, torn_writes=torn, changed=changed_runs)
    assert changed_runs > 0, "the kills never landed after a write: the test exercised nothing"
    # A later run completes, cleans stale temporaries, commits, and leaves every var valid.
    r = subprocess.run(argv, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + r.stdout
    for rel in ROTATED:
        assert_complete(demo_copy, rel)
        assert not [n for n in os.listdir(os.path.join(demo_copy, rel)) if n.startswith(".")], rel
    assert subprocess.run(["git", "status", "--porcelain", "vars"], cwd=demo_copy, capture_output=True, text=True).stdout == ""
    # The killed runs' private work dirs (plaintext, in RAM) were removed by the last run.
    for name in os.listdir("/dev/shm"):
        if name.startswith("fleet-vars-"):
            pid = int(name.split("-")[2])
            assert os.path.exists(f"/proc/{pid}"), f"stale work dir of dead process left: {name}"


def test_cli_hidden_prompt_is_not_echoed(pane, demo_copy):
    """`fleet vars rotate` asks a hidden prompt on the terminal: nothing typed shows, it is confirmed
    twice, and the answer ends up encrypted (never in the pane or in plaintext on disk)."""
    secret = "Tr0ub4dor-" + os.urandom(4).hex()
    key = os.path.join(KEYS, "crs58.txt")
    pane.start_fleet(f"vars rotate electrum -g user-password-root --repo {demo_copy}",
                     env=f"SOPS_AGE_KEY_FILE={key} SOPS_AGE_KEY= XDG_CONFIG_HOME=/nonexistent")
    pane.wait_for("Password of root (leave empty to generate one)")
    pane.type_line(secret)
    pane.wait_for("Confirm user-password-root/user-password:")
    pane.type_line(secret)
    screen = pane.wait_for("\nEXIT=", timeout=60)
    assert "\nEXIT=0" in screen, screen
    assert "Generated 1 generator. Machines to deploy: electrum" in screen
    assert secret not in screen
    r = subprocess.run(["python3", DECRYPT, os.path.join(demo_copy, "vars/per-machine/electrum/user-password-root/user-password/secret"), key],
                       capture_output=True)
    assert r.returncode == 0 and r.stdout == secret.encode()
    assert subprocess.run(["grep", "-rlF", secret, demo_copy], capture_output=True).returncode == 1
