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


@pytest.fixture
def pane():
    p = Pane(120, 40)
    yield p
    p.close()
