"""The resolved-fleet cache (ResolvedFleetCache) seen from outside: a warm start shows what a cold
one shows and `fleet list --json` prints the same bytes, with and without the cache, and a changed
value file is never shown stale."""
import os
import re
import subprocess
import time

from tmuxdriver import FLEET_BIN, Pane, wait_until


def settled_fleet(tmp_path, machines=400):
    """A synthetic fleet whose files are older than the cache's settle time (2 s; younger files are
    never cached, see ResolvedFleetCache)."""
    d = tmp_path / "fleet"
    subprocess.run([FLEET_BIN, "demo", "generate", "--machines", str(machines), "--dir", str(d)], check=True, capture_output=True)
    newest = max(os.stat(os.path.join(r, f)).st_ctime for r, _, fs in os.walk(d) for f in fs)
    wait_until(lambda: time.time() - newest > 2.2, timeout=10)
    return d


def env_for(tmp_path, cache):
    return dict(os.environ, XDG_CACHE_HOME=str(cache), XDG_STATE_HOME=str(tmp_path / "state"),
                XDG_CONFIG_HOME=str(tmp_path / "config"), FLEET_NO_PROBES="1", FLEET_LOG="debug")


def list_json(d, env):
    return subprocess.run([FLEET_BIN, "list", "--inventory", str(d), "--json"], check=True, capture_output=True, env=env).stdout


def cache_files(cache):
    return [f for f in os.listdir(cache / "fleet")] if (cache / "fleet").is_dir() else []


def test_list_json_is_byte_identical_cold_and_warm_and_follows_a_changed_ip(tmp_path):
    d = settled_fleet(tmp_path)
    cache = tmp_path / "cache"
    env = env_for(tmp_path, cache)
    cold = list_json(d, env)
    assert [f for f in cache_files(cache) if f.startswith("fleet-") and f.endswith(".bin")], "the cold run stores the fleet"
    renderings = [cache / "fleet" / f for f in cache_files(cache) if f.endswith(".list-json")]
    assert renderings, "the cold run stores its output next to the fleet"
    warm = list_json(d, env)
    assert warm == cold
    assert list_json(d, env_for(tmp_path, tmp_path / "other-cache")) == cold
    # A damaged stored output (cut short, or one byte changed) is never printed.
    data = renderings[0].read_bytes()
    renderings[0].write_bytes(data[: len(data) // 2])
    assert list_json(d, env) == cold
    renderings[0].write_bytes(data[:-2] + bytes([data[-2] ^ 1]) + data[-1:])
    assert list_json(d, env) == cold
    # An IP rewritten in place, same size: the next run shows the new one (and stores it).
    ips = d / "vars" / "shared"
    ip_file = next(ips / n / "ip" / "value" for n in sorted(os.listdir(ips)) if n.startswith("zerotier-ip-"))
    old = ip_file.read_text()
    new = old[:-1] + ("1" if old[-1] != "1" else "2")
    with open(ip_file, "r+") as f:
        f.write(new)
    after = list_json(d, env)
    assert new.encode() in after and after != cold
    assert list_json(d, env) == after == list_json(d, env_for(tmp_path, tmp_path / "third-cache"))


PENDING = re.compile(r"(^|\s)…(\s|$)")   # a cell still waiting (TARGET, SECRETS); `abc…` is a cut-off text


def dashboard_screen(tmp_path, d, env):
    """The Fleet screen once every address and the secrets column are in (no pending `…` cell)."""
    pane = Pane(140, 40, env={k: env[k] for k in ("XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "FLEET_NO_PROBES", "FLEET_LOG")})
    try:
        pane.type_line(f"{FLEET_BIN} --inventory {d}")
        pane.wait_for("host-00001")
        seen = [""]

        def settled(screen):
            # STATUS stays `…` (FLEET_NO_PROBES): only the columns before it must be filled in.
            header = next((l for l in screen.splitlines() if "STATUS" in l), None)
            if header is None or "host-00001" not in screen:
                return False
            cut = header.index("STATUS")
            return not any(PENDING.search(l[:cut]) for l in screen.splitlines())

        def complete():
            seen[0] = pane.capture()
            return settled(seen[0])
        wait_until(complete, timeout=60, message=lambda: "cells still pending:\n" + seen[0])
        screen = pane._settled(seen[0], settled)
        pane.send("q")
        pane.wait_for("E2E-READY$", timeout=20)
        return screen
    finally:
        pane.close()


def test_warm_dashboard_shows_the_same_screen_as_a_cold_one(tmp_path):
    d = settled_fleet(tmp_path)
    cache = tmp_path / "cache"
    env = env_for(tmp_path, cache)
    cold = dashboard_screen(tmp_path, d, env)
    assert cache_files(cache), "the cold start stores the fleet (after its first frame, or on quit)"
    log = tmp_path / "state" / "fleet" / "fleet.log"
    before = log.read_text() if log.exists() else ""
    warm = dashboard_screen(tmp_path, d, env)
    assert warm == cold
    added = log.read_text()[len(before):]
    assert "addresses from the cache" in added, added[-2000:]


def test_caches_of_a_removed_directory_are_pruned_when_another_is_cached(tmp_path):
    """Caches are keyed by the directory they were made for: once it is gone (an old demo copy, a
    test's copy), the next run that adds a cache file prunes them — and only them."""
    import shutil
    first = settled_fleet(tmp_path, machines=20)
    cache = tmp_path / "cache"
    env = env_for(tmp_path, cache)
    list_json(first, env)
    stored = sorted(f for f in cache_files(cache) if f.startswith("fleet-"))
    assert len(stored) == 2, stored                      # the fleet file and its list --json output
    (cache / "fleet" / "notes.txt").write_text("not fleet's")
    second = tmp_path / "second"
    shutil.copytree(first, second, symlinks=True)
    shutil.rmtree(first)
    newest = max(os.stat(os.path.join(r, f)).st_ctime for r, _, fs in os.walk(second) for f in fs)
    wait_until(lambda: time.time() - newest > 2.2, timeout=10)
    list_json(second, env)
    left = cache_files(cache)
    assert not set(stored) & set(left), left
    assert len([f for f in left if f.startswith("fleet-")]) == 2 and "notes.txt" in left, left
