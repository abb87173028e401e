import os
import shutil

import pytest

from tmuxdriver import FLEET_BIN, Pane


def pytest_sessionstart(session):
    missing = [t for t in ("tmux", "pgrep") if shutil.which(t) is None]
    if missing:
        raise pytest.UsageError(f"end-to-end tests need {', '.join(missing)}; run `make test`, which installs them")
    if not os.access(FLEET_BIN, os.X_OK):
        raise pytest.UsageError(f"no fleet binary at {FLEET_BIN}; run `swift build` first (make test does)")


@pytest.fixture(scope="session", autouse=True)
def private_xdg_dirs(tmp_path_factory):
    """fleet keeps caches and state under $XDG_CACHE_HOME and $XDG_STATE_HOME, and prunes stale caches
    in $XDG_CACHE_HOME/fleet: a test that names neither must not use (or prune) the user's own."""
    base = tmp_path_factory.mktemp("xdg")
    for key in ("XDG_CACHE_HOME", "XDG_STATE_HOME"):
        os.environ[key] = str(base / key.lower())


@pytest.fixture
def pane():
    p = Pane(120, 40)
    yield p
    p.close()


@pytest.fixture(scope="session")
def real_clan(tmp_path_factory):
    """Real clan-core flakes, built once per session: `real_clan.flake(clan_nix=None)` (read-only),
    `real_clan.copy(dest, clan_nix=None)` (a private committed git clan), `real_clan.eval(dir, attr)`.
    Run fleet on them with `env=real_clan_env()` (offline nix)."""
    from real_clan import RealClans
    return RealClans(tmp_path_factory.mktemp("real-clan"))
