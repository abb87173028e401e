"""Drives `testbed/testbed` (real network namespaces + sshd + the Debian nix) and the real `fleet`
binary for deploy tests and benchmarks. Root only. Everything is created under one temp dir and
torn down by `Testbed.close()`, also when a test fails."""
import json
import os
import shutil
import subprocess
import tempfile
import time

from tmuxdriver import FLEET_BIN, REPO

TESTBED = os.path.join(REPO, "testbed", "testbed")
NIX_CONFIG = "substituters =\nsandbox = false\n"


def require_testbed_tools():
    """Fails (never skips) with a clear message when the testbed cannot run here."""
    if os.geteuid() != 0:
        raise AssertionError("deploy e2e tests need root (network and mount namespaces for testbed hosts)")
    missing = [t for t in ("ip", "unshare", "nsenter", "ssh", "ssh-keygen", "nix", "nix-build", "nix-env", "tar")
               if shutil.which(t) is None]
    if not os.path.exists("/usr/sbin/sshd"):
        missing.append("/usr/sbin/sshd (openssh-server)")
    if missing:
        raise AssertionError("deploy e2e tests need: " + ", ".join(missing))


class DeployTestbed:
    """`n` hosts tb1..tbN in the inventory (or `names`), plus `helpers` (testbed hosts that are not
    machines of the inventory, e.g. a build host). `deploy` adds inventory deploy fields per machine."""
    def __init__(self, n, payload=0, names=None, helpers=(), deploy=None):
        require_testbed_tools()
        # Short paths: ssh control sockets live under TMPDIR and must fit in 107 bytes.
        self.root = tempfile.mkdtemp(prefix="fleet-dep-", dir="/tmp")
        self.dir = os.path.join(self.root, "tb")
        self.flake = os.path.join(self.root, "flake")
        self.inventory = os.path.join(self.root, "inv")
        self.state = os.path.join(self.root, "state")
        self.tmp = os.path.join(self.root, "t")
        self.payload = payload
        os.makedirs(self.tmp)
        self.names = list(names) if names else [f"tb{i}" for i in range(1, n + 1)]
        self.helpers = list(helpers)
        # Generation names unique to this testbed, so every run really builds (the local store is shared).
        self.tag = os.urandom(3).hex()
        try:
            if names or helpers:
                self.tb("up", "--names", ",".join(self.names + self.helpers))
            else:
                self.tb("up", str(n))
            self.set_generation("1", self.names)
            os.makedirs(self.inventory)
            machines = {m: {"deploy": {"targetHost": f"root@{m}", **(deploy or {}).get(m, {})}, "tags": ["testbed"]}
                        for m in self.names}
            with open(os.path.join(self.inventory, "inventory.json"), "w") as f:
                json.dump({"meta": {"name": "testbed"}, "machines": machines}, f, indent=2)
        except BaseException:
            self.close()
            raise

    def tb_argv(self, *args):
        return [TESTBED, *args, "--dir", self.dir]

    def tb(self, *args, check=True):
        r = subprocess.run(self.tb_argv(*args), capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError(f"testbed {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r.stdout

    def gen(self, g):
        """The generation name the flake uses for generation `g`."""
        return f"{g}-{self.tag}"

    def set_generation(self, gen, machines=()):
        args = ["flake", self.flake, *(machines or self.names), "--gen", self.gen(gen)]
        if self.payload:
            args += ["--payload", str(self.payload)]
        self.tb(*args)

    def fault(self, host, *kind):
        self.tb("fault", host, *kind)

    def status(self):
        return {h["name"]: h for h in json.loads(self.tb("status", "--json"))["hosts"]}

    def connections(self):
        return {h: int(self.tb("connections", h).strip()) for h in self.names + self.helpers}

    def env(self):
        e = dict(os.environ)
        e.update({"NIX_CONFIG": NIX_CONFIG, "XDG_STATE_HOME": self.state, "TMPDIR": self.tmp})
        return e

    def fleet_args(self, command, *args):
        return [FLEET_BIN, command, "--inventory", self.inventory, "--ssh-config", os.path.join(self.dir, "ssh_config"),
                "--build-flake", "path:" + self.flake, *args]

    def fleet(self, command, *args, timeout=120):
        """Runs `fleet COMMAND … --json`; returns (exit status, events, stderr)."""
        r = subprocess.run(self.fleet_args(command, *args, "--json"), capture_output=True, text=True,
                           env=self.env(), timeout=timeout)
        events = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        return r.returncode, events, r.stderr

    def history(self):
        return os.path.join(self.state, "fleet", "history.sqlite")

    def close(self):
        subprocess.run([TESTBED, "down", "--dir", self.dir], capture_output=True, timeout=120)
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)


def finished(events):
    """host -> host_finished event."""
    return {e["host"]: e for e in events if e["type"] == "host_finished"}


def run_summary(events):
    return next(e for e in events if e["type"] == "run_finished")


def stage_result(events, host, stage):
    return next(e for e in events if e["type"] == "stage_finished" and e["host"] == host and e["stage"] == stage)
