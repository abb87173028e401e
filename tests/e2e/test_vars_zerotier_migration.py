"""`fleet vars generate` on a real clan-core clan whose zerotier vars are in the 25.11 layout: like
`clan vars generate`, it first moves them to the all-shared layout in one commit, prints clan's
banner and stops (exit 0); afterwards no zerotier generator is planned, so no new identity or network
id is minted. The clan is the real clan-core's example clan (the `real_clan` fixture)."""
import os
import subprocess

from tmuxdriver import FLEET_BIN


def git(d, *args):
    return subprocess.run(["git", "-C", d, *args], check=True, capture_output=True, text=True).stdout


def test_generate_migrates_the_25_11_zerotier_layout_and_stops(real_clan, tmp_path):
    d = real_clan.copy(tmp_path / "clan")                # a committed git clan on the real clan-core
    # The example clan's zerotier instance is "zerotier", alpha its controller; 25.11 kept everything
    # under the per-machine generator "zerotier" (values here are public: no key needed to move them).
    legacy = {
        "vars/per-machine/alpha/zerotier/zerotier-network-id/value": "8056c2e21c000001",
        "vars/per-machine/alpha/zerotier/zerotier-ip/value": "fd80:56c2:e21c:0:199:9300:aaaa:aaaa",
        "vars/per-machine/beta/zerotier/zerotier-ip/value": "fd80:56c2:e21c:0:199:9300:bbbb:bbbb",
    }
    for rel, text in legacy.items():
        os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
        with open(os.path.join(d, rel), "w") as f:
            f.write(text)
    # The identities are secrets: written by `fleet secrets set` (a real sops file for the admin),
    # then placed where 25.11 kept them, their link re-pointed from that depth.
    subprocess.run(["age-keygen", "-o", str(tmp_path / "admin.txt")], check=True, capture_output=True)
    pub = subprocess.run(["age-keygen", "-y", str(tmp_path / "admin.txt")], check=True, capture_output=True, text=True).stdout.strip()
    os.makedirs(os.path.join(d, "sops/users/admin"))
    with open(os.path.join(d, "sops/users/admin/key.json"), "w") as f:
        f.write('[\n  {\n    "publickey": "%s",\n    "type": "age"\n  }\n]\n' % pub)
    key_env = dict(os.environ, SOPS_AGE_KEY_FILE=str(tmp_path / "admin.txt"), HOME=str(tmp_path))
    identities = {}
    for m in ("alpha", "beta"):
        identities[m] = "identity-of-" + m
        subprocess.run([FLEET_BIN, "secrets", "set", "zt-" + m, "--repo", d], input=identities[m], text=True, check=True, env=key_env)
        dst = os.path.join(d, f"vars/per-machine/{m}/zerotier/zerotier-identity-secret")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.rename(os.path.join(d, "sops/secrets/zt-" + m), dst)
        os.unlink(os.path.join(dst, "users/admin"))
        os.symlink("../../../../../../sops/users/admin", os.path.join(dst, "users/admin"))
    git(d, "add", "-A")
    git(d, "commit", "-qm", "25.11 layout")
    env = dict(os.environ, NIX_CONFIG="experimental-features = nix-command flakes\nsubstituters =\n",
               HOME=str(tmp_path), SOPS_AGE_KEY_FILE=str(tmp_path / "none.txt"))

    dry = subprocess.run([FLEET_BIN, "vars", "generate", "--repo", d, "--dry-run"], capture_output=True, text=True, env=env, timeout=300)
    assert dry.returncode == 0, dry.stderr
    assert "Would first move the zerotier vars to the all-shared layout" in dry.stdout
    assert os.path.exists(os.path.join(d, "vars/per-machine/alpha/zerotier")), "a dry run moves nothing"

    # No admin key is configured: like clan, the migration comes before anything needs one.
    r = subprocess.run([FLEET_BIN, "vars", "generate", "--repo", d], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "ZEROTIER MIGRATION - ACTION REQUIRED" in r.stderr
    assert git(d, "log", "-1", "--format=%s") == "migrate: move zerotier vars to all-shared layout\n"
    assert git(d, "status", "--porcelain", "vars") == ""
    shared = {
        "vars/shared/zerotier-network-zerotier/network-id/value": "8056c2e21c000001",
        "vars/shared/zerotier-ip-alpha-zerotier/ip/value": "fd80:56c2:e21c:0:199:9300:aaaa:aaaa",
        "vars/shared/zerotier-ip-beta-zerotier/ip/value": "fd80:56c2:e21c:0:199:9300:bbbb:bbbb",
    }
    for rel, text in shared.items():
        with open(os.path.join(d, rel)) as f:
            assert f.read() == text, rel
    assert not os.path.exists(os.path.join(d, "vars/per-machine/alpha/zerotier"))

    # The same identities, now where the current generators look.
    for m in ("alpha", "beta"):
        got = subprocess.run([FLEET_BIN, "vars", "get", m, f"zerotier-identity-{m}/identity-secret", "--repo", d],
                             capture_output=True, text=True, env=key_env, timeout=300)
        assert got.returncode == 0 and got.stdout == identities[m], got.stderr

    # Identities, network id and IPs are in place: the plan mints none of them.
    env["SOPS_AGE_KEY_FILE"] = str(tmp_path / "admin.txt")
    again = subprocess.run([FLEET_BIN, "vars", "generate", "--repo", d, "--dry-run"], capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "zerotier" not in again.stdout, again.stdout
