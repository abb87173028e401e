"""Real clan flakes for the end-to-end suites: tests/real-clan/make-flake over
../shared/real-clan/new-clan-flake (the real clan-core, offline). See the `real_clan` fixture."""
import os
import shutil
import subprocess
import threading

from tmuxdriver import REPO

MAKE_FLAKE = os.path.join(REPO, "tests", "real-clan", "make-flake")
# nix as the tests run it: flakes on, offline (no substituters), no build sandbox (host-binary stand-ins).
NIX_CONFIG = "experimental-features = nix-command flakes\nsubstituters =\nsandbox = false\n"


def nix_env(**extra):
    return dict(os.environ, NIX_CONFIG=NIX_CONFIG, **extra)


def clan_nix(name):
    """A clan.nix kept in tests/real-clan/ (e.g. the done-when scenario)."""
    with open(os.path.join(REPO, "tests", "real-clan", name)) as f:
        return f.read()


class RealClans:
    """Builds each distinct clan.nix once per test session (read-only); `copy` makes a private git clan."""

    def __init__(self, root):
        self.root = str(root)
        self.built = {}
        self.lock = threading.Lock()

    def flake(self, clan_nix_text=None):
        key = clan_nix_text or ""
        with self.lock:
            if key not in self.built:
                n = len(self.built)
                d = os.path.join(self.root, f"flake-{n}")
                argv = [MAKE_FLAKE, d]
                if clan_nix_text is not None:
                    f = os.path.join(self.root, f"clan-{n}.nix")
                    with open(f, "w") as fh:
                        fh.write(clan_nix_text)
                    argv.append(f)
                r = subprocess.run(argv, capture_output=True, text=True, env=nix_env())
                if r.returncode != 0:
                    raise RuntimeError(f"make-flake failed ({r.returncode}): {r.stderr}")
                self.built[key] = d
            return self.built[key]

    def copy(self, dest, clan_nix_text=None):
        """A committed git clan at `dest` on top of the shared flake (its inputs stay shared)."""
        src = self.flake(clan_nix_text)
        os.makedirs(dest, exist_ok=True)
        for item in os.listdir(src):
            if item in (".clan-inputs", ".git"):
                continue
            s, t = os.path.join(src, item), os.path.join(dest, item)
            (shutil.copytree if os.path.isdir(s) else shutil.copy2)(s, t)
        git = ["git", "-C", str(dest)]
        for args in (["init", "-q"], ["config", "user.name", "fleet-test"], ["config", "user.email", "fleet@example.invalid"],
                     ["add", "-A"], ["commit", "-qm", "real clan"]):
            subprocess.run(git + args, check=True, capture_output=True)
        return str(dest)

    def eval(self, flake, attr, apply=None):
        import json
        argv = ["nix", "eval", "--json", f"{flake}#{attr}"] + (["--apply", apply] if apply else [])
        r = subprocess.run(argv, capture_output=True, text=True, env=nix_env())
        if r.returncode != 0:
            raise RuntimeError(f"nix eval {attr}: {r.stderr}")
        return json.loads(r.stdout)
