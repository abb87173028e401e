"""Secrets hygiene (issue 10): rotate demo secrets with known prompt answers (CLI and dashboard),
deploy two demo NixOS machines to testbed hosts (which first generates a var missing for one of them,
its prompt answered on the terminal, then uploads their age keys and activation secrets, one host as a
non-root user through sudo with its password typed on a terminal), deploy that host again from the
dashboard (a missing var's prompt and the sudo password typed in its masked field), then look for the
plaintext everywhere fleet could have left it: every file in the repository and its git objects
(decompressed), the XDG state/cache/config dirs (history database, logs), TMPDIR, the tmux pane
captures, and the environment and command line of every child process and of every process on the
target hosts (sshd sessions, the sudo askpass session, sudo, nix), sampled while it ran; and the
askpass session's private dir must be gone from the host afterwards.
Zero hits. The needles stay in this process's memory; nothing here writes them to disk."""
import importlib.machinery
import io
import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import types

from fault_support import ask_root_password_rotation, demo_workspace, descendants, record
from testbed_support import NIX_CONFIG, TESTBED, require_testbed_tools
from tmuxdriver import FLEET_BIN, REPO, Pane

SCAN = os.path.join(REPO, "tools", "scan-secrets")
DEMO_SECRETS = [("cinnabar", "clawdbot-gateway-token/token"), ("cinnabar", "matrix-password-cameron/password"),
                ("cinnabar", "zerotier-identity-cinnabar/identity-secret"), ("cinnabar", "openssh/ssh.id_ed25519"),
                ("electrum", "luks-password/key"), ("electrum", "zerotier-identity-electrum/identity-secret")]


def load_scanner():
    if not os.access(SCAN, os.X_OK):
        raise AssertionError(f"{SCAN} is missing (it comes with the hardening branch)")
    mod = types.ModuleType("scan_secrets")
    importlib.machinery.SourceFileLoader("scan_secrets", SCAN).exec_module(mod)
    return mod


def needle_parts(value):
    """A secret as needles: the whole value, and for multi-line values (keys) each long line."""
    value = value.strip()
    parts = [value]
    if b"\n" in value:
        parts += [l.strip() for l in value.split(b"\n") if len(l.strip()) >= 16 and not l.startswith(b"-----")]
    return parts


def bwrap_gate(root):
    """A directory to put first on PATH: its `bwrap` stops itself (SIGSTOP) until a ProcSampler has
    read its command line and environment and continued it (SIGCONT), then execs the real bwrap
    with both unchanged. A generator's sandbox lives for milliseconds, and a sampler that walks
    /proc misses it on a loaded machine; through the gate every sandbox is sampled."""
    real = shutil.which("bwrap")
    assert real, "bwrap is missing: `make test` installs it (tools/install-deps)"
    gate = os.path.join(root, "gate")
    os.makedirs(gate)
    with open(os.path.join(gate, "bwrap"), "w") as f:
        f.write(f'#!/bin/sh\nkill -STOP $$\nexec {shlex.quote(real)} "$@"\n')
    os.chmod(os.path.join(gate, "bwrap"), 0o755)
    return gate


class ProcSampler(threading.Thread):
    """Reads /proc/PID/{environ,cmdline} of a process and all its descendants every few ms and keeps
    each distinct content in memory, to be scanned once every needle is known. A bwrap stopped at
    `gate` (bwrap_gate) is sampled and continued."""

    def __init__(self, pid, gate=None):
        super().__init__(daemon=True)
        self.pid, self.seen, self.samples, self.stop = pid, {}, {}, threading.Event()
        self.gate = gate and os.path.join(gate, "bwrap").encode()

    def run(self):
        while not self.stop.is_set():
            for p in {self.pid} | descendants(self.pid):
                try:
                    with open(f"/proc/{p}/cmdline", "rb") as f:
                        cmd = f.read()
                    with open(f"/proc/{p}/environ", "rb") as f:
                        environ = f.read()
                    gated = self.gate is not None and cmd.split(b"\0")[1:2] == [self.gate]
                    if gated:
                        with open(f"/proc/{p}/stat") as f:
                            stopped = f.read().rsplit(")", 1)[1].split()[0] == "T"
                except OSError:
                    continue  # it exited between listing and reading
                name = "bwrap" if gated else os.path.basename(cmd.split(b"\0")[0]).decode(errors="replace")
                self.seen.setdefault(p, name)
                self.samples.setdefault((cmd, environ), f"/proc/{p} ({self.seen[p]})")
                if gated and stopped:
                    os.kill(p, signal.SIGCONT)
            time.sleep(0.005)

    def finish(self):
        self.stop.set()
        self.join()


def sampled(samplers, pid, gate=None):
    s = ProcSampler(pid, gate)
    s.start()
    samplers.append(s)
    return s


class NetnsSampler(ProcSampler):
    """The same for every process inside a testbed host (its network namespace): the remote side of
    a deploy — sshd sessions, the sudo askpass session and its FIFO readers, sudo, nix — which is
    not a descendant of fleet."""

    def __init__(self, netns):
        super().__init__(0)
        self.ns_inode = os.stat(f"/run/netns/{netns}").st_ino

    def run(self):
        while not self.stop.is_set():
            for p in os.listdir("/proc"):
                if not p.isdigit():
                    continue
                try:
                    if os.stat(f"/proc/{p}/ns/net").st_ino != self.ns_inode:
                        continue
                    with open(f"/proc/{p}/cmdline", "rb") as f:
                        cmd = f.read()
                    with open(f"/proc/{p}/environ", "rb") as f:
                        environ = f.read()
                except OSError:
                    continue
                name = os.path.basename(cmd.split(b"\0")[0]).decode(errors="replace")
                self.seen.setdefault(int(p), "remote " + name)
                self.samples.setdefault((cmd, environ), f"/proc/{p} (remote {name})")
            time.sleep(0.01)


def host_netns(tbdir, host):
    st = json.loads(subprocess.run([TESTBED, "status", "--json", "--dir", tbdir], check=True, capture_output=True,
                                   text=True, timeout=60).stdout)
    return next(h["netns"] for h in st["hosts"] if h["name"] == host)


def askpass_leftovers(tbdir, host, user):
    """The sudo askpass session's private dirs (`mktemp -d` as the ssh user; the host's /tmp is the
    machine's) must be gone after the deploy."""
    r = subprocess.run([TESTBED, "exec", host, "--", "find", "/tmp", "-maxdepth", "2", "-user", user, "-name", "askpass.sh"],
                       env=dict(os.environ, TESTBED_DIR=tbdir), capture_output=True, text=True, timeout=60)
    # Other people's temp dirs come and go under /tmp while find walks it: only its hits count.
    assert r.returncode in (0, 1), r.stderr
    return r.stdout.split()


def drop_generator(ws, machine, generator):
    """Removes (and commits the removal of) a machine's generator's vars: the next deploy of that
    machine generates it first, asking its prompts (clan's run_generators before update)."""
    subprocess.run(["git", "-C", ws, "rm", "-r", "-q", f"vars/per-machine/{machine}/{generator}"], check=True, capture_output=True)
    subprocess.run(["git", "-C", ws, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", f"drop {machine}/{generator}"],
                   check=True, capture_output=True)


def test_secrets_hygiene():
    require_testbed_tools()
    mod = load_scanner()
    root = tempfile.mkdtemp(prefix="fleet-hy-", dir="/tmp")
    tbdir = os.path.join(root, "tb")
    pane = None
    try:
        ws, keys = demo_workspace(os.path.join(root, "ws"))
        dirs = {k: os.path.join(root, k) for k in ("state", "cache", "config", "t")}
        for d in dirs.values():
            os.makedirs(d)
        env = dict(os.environ, SOPS_AGE_KEY_FILE=keys, SOPS_AGE_KEY="", XDG_STATE_HOME=dirs["state"],
                   XDG_CACHE_HOME=dirs["cache"], XDG_CONFIG_HOME=dirs["config"], TMPDIR=dirs["t"], NIX_CONFIG=NIX_CONFIG,
                   FLEET_LOG="trace")   # the most the log file ever holds; it lies in dirs["state"], scanned below

        # Needles: plaintext of demo secrets (decrypted by fleet into our memory) and two prompt answers.
        needles = []
        for machine, var in DEMO_SECRETS:
            r = subprocess.run([FLEET_BIN, "vars", "get", machine, var, "--repo", ws], capture_output=True, env=env)
            assert r.returncode == 0 and len(r.stdout.strip()) >= 8, f"fleet vars get {machine} {var}: {r.stderr!r}"
            needles += needle_parts(r.stdout)
        cli_answer = "Cli-Answer-" + os.urandom(6).hex()
        ui_answer = "Ui-Answer-" + os.urandom(6).hex()
        needles += [cli_answer.encode(), ui_answer.encode()]
        samplers, outputs = [], []
        # The rotations (1, 2) run their sandboxes through the gate, so each one is sampled.
        gate = bwrap_gate(root)
        gated_env = dict(env, PATH=gate + os.pathsep + env["PATH"])

        # 1. CLI rotation with the answer on stdin.
        p = subprocess.Popen([FLEET_BIN, "vars", "rotate", "electrum", "-g", "user-password-root", "--repo", ws,
                              "--prompt-value", "user-password-root.user-password=@-"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=gated_env)
        s = sampled(samplers, p.pid, gate)
        out, err = p.communicate(input=cli_answer.encode(), timeout=120)
        s.finish()
        assert p.returncode == 0, err
        got = subprocess.run([FLEET_BIN, "vars", "get", "electrum", "user-password-root/user-password", "--repo", ws],
                             capture_output=True, env=env).stdout
        assert got.strip() == cli_answer.encode(), "the CLI answer did not reach the secret"
        outputs.append(("fleet vars rotate output", out + err))

        # 2. The dashboard path: rotate cinnabar's root password from the Vars screen.
        pane = Pane(120, 40)
        pane_env = " ".join(f"{k}={shlex.quote(env[k])}" for k in
                            ("SOPS_AGE_KEY_FILE", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "TMPDIR", "FLEET_LOG"))
        pane.start_fleet(env=f"FLEET_DEMO_DIR={shlex.quote(ws)} {pane_env} PATH={shlex.quote(gated_env['PATH'])}")
        captures = [pane.wait_for("stibnite")]
        [ui_pid] = pane.child_pids()
        s = sampled(samplers, ui_pid, gate)
        ask_root_password_rotation(pane)
        pane.send("y")
        captures.append(pane.wait_for("Prompt: user-password-root/user-password"))
        pane.tmux("send-keys", "-t", "e2e", "-l", ui_answer)
        captures.append(pane.wait_for("•" * len(ui_answer)))
        pane.send("Enter")
        captures.append(pane.wait_for("Deploy the affected machines now?", timeout=60))
        pane.send("n")
        captures.append(pane.wait_for("generated 1 generator"))
        pane.send("q")
        assert pane.wait_for_exit() == 0
        s.finish()
        captures.append(pane.tmux("capture-pane", "-p", "-S", "-", "-E", "-", "-t", "e2e").stdout)
        got = subprocess.run([FLEET_BIN, "vars", "get", "cinnabar", "user-password-root/user-password", "--repo", ws],
                             capture_output=True, env=env).stdout
        assert got.strip() == ui_answer.encode(), "the dashboard answer did not reach the secret"

        # 3. Deploy cinnabar and electrum to testbed hosts of those names: uploads their age keys.
        subprocess.run([TESTBED, "up", "2", "--names", "cinnabar,electrum", "--dir", tbdir], check=True, capture_output=True, timeout=120)
        subprocess.run([TESTBED, "flake", os.path.join(root, "flake"), "cinnabar", "electrum", "--gen", "hy-" + os.urandom(3).hex(),
                        "--dir", tbdir], check=True, capture_output=True, timeout=300)
        # electrum is deployed as a non-root user through sudo, its password typed on the terminal
        # (a tmux pane): the password joins the needles.
        sudo_password = "Sudo-Pw-" + os.urandom(6).hex()
        needles.append(sudo_password.encode())
        subprocess.run([TESTBED, "user", "electrum", "alice", "--dir", tbdir], input=(sudo_password + "\n").encode(),
                       check=True, capture_output=True, timeout=60)
        deploy_args = [FLEET_BIN, "deploy", "cinnabar", "electrum", "--inventory", ws,
                       "--ssh-config", os.path.join(tbdir, "ssh_config"), "--build-flake", "path:" + os.path.join(root, "flake"),
                       "--target", "cinnabar=root@cinnabar", "--target", "electrum=alice@electrum"]
        # cinnabar's root password is missing: the deploy generates it first (vars before deploy),
        # its hidden prompt answered twice on the terminal; the answer joins the needles.
        drop_generator(ws, "cinnabar", "user-password-root")
        deploy_answer = "Deploy-Answer-" + os.urandom(6).hex()
        needles.append(deploy_answer.encode())
        pane = Pane(200, 50)
        pane.start_fleet(" ".join(shlex.quote(a) for a in deploy_args[1:]) + " 2>&1",
                         env=f"{pane_env} NIX_CONFIG={shlex.quote(NIX_CONFIG)} PATH={shlex.quote(gated_env['PATH'])}")
        remote = [NetnsSampler(host_netns(tbdir, h)) for h in ("cinnabar", "electrum")]
        for r_ in remote:
            r_.start()
            samplers.append(r_)
        pane.wait_for("Password of root", timeout=300)
        [deploy_pid] = pane.child_pids()
        s = sampled(samplers, deploy_pid, gate)   # the generator's sandbox runs through the gate
        pane.tmux("send-keys", "-t", "e2e", "-l", deploy_answer)
        pane.send("Enter")
        pane.wait_for("Confirm user-password-root/user-password", timeout=60)
        pane.tmux("send-keys", "-t", "e2e", "-l", deploy_answer)
        pane.send("Enter")
        pane.wait_for("password for alice", timeout=300)
        pane.tmux("send-keys", "-t", "e2e", "-l", sudo_password)
        pane.send("Enter")
        code = pane.wait_for_exit(timeout=300)
        s.finish()
        for r_ in remote:
            r_.finish()
        out = pane.tmux("capture-pane", "-p", "-S", "-", "-E", "-", "-t", "e2e").stdout.encode()
        err = b""
        pane.close()
        pane = None
        assert code == 0, out.decode(errors="replace")
        assert b"[cinnabar] secrets ok" in out and b"[electrum] secrets ok" in out, out.decode(errors="replace")
        got = subprocess.run([FLEET_BIN, "vars", "get", "cinnabar", "user-password-root/user-password", "--repo", ws],
                             capture_output=True, env=env).stdout
        assert got.strip() == deploy_answer.encode(), "the deploy did not generate the missing var from the terminal's answer"
        # Every uploaded file arrived read-only for root (clan's upload.py: 0400, dirs 0700).
        for host in ("cinnabar", "electrum"):
            modes = subprocess.run([TESTBED, "exec", host, "--", "find", "/var/lib/sops-nix", "-mindepth", "1", "-printf", "%y %m %u %p\n"],
                                   env=dict(os.environ, TESTBED_DIR=tbdir), capture_output=True, text=True, timeout=30).stdout.split("\n")
            entries = [m.split(" ", 3) for m in modes if m]
            assert any(e[3].endswith("/id_ed25519") and "/activation/" in e[3] for e in entries), (host, entries)
            assert all((e[0], e[1], e[2]) in {("f", "400", "root"), ("d", "700", "root")} for e in entries), (host, entries)
        outputs.append(("fleet deploy output", out + err))
        assert askpass_leftovers(tbdir, "electrum", "alice") == [], "the askpass session's dir outlived the deploy"
        remote_names = {n for r_ in remote for n in r_.seen.values()}
        assert any("sudo" in n for n in remote_names) and any("bash" in n for n in remote_names), \
            f"the remote side (sudo, the askpass session) was not sampled: {remote_names}"

        # 4. The dashboard path: electrum again as alice, a new generation, its missing root password
        #    (DeployVars → the masked field) and then the sudo password typed in the dashboard's masked
        #    field (DeployInteraction → SudoAskpass), sampled both sides.
        subprocess.run([TESTBED, "flake", os.path.join(root, "flake"), "electrum", "--gen", "hy2-" + os.urandom(3).hex(),
                        "--dir", tbdir], check=True, capture_output=True, timeout=300)
        drop_generator(ws, "electrum", "user-password-root")
        ui_deploy_answer = "Ui-Deploy-Answer-" + os.urandom(6).hex()
        needles.append(ui_deploy_answer.encode())
        pane = Pane(160, 45)
        ui_env = (f"{pane_env} NIX_CONFIG={shlex.quote(NIX_CONFIG)} FLEET_NO_PROBES=1 "
                  f"FLEET_SSH_CONFIG={shlex.quote(os.path.join(tbdir, 'ssh_config'))} "
                  f"FLEET_BUILD_FLAKE={shlex.quote('path:' + os.path.join(root, 'flake'))} FLEET_DEPLOY_TARGETS=electrum=alice@electrum PATH={shlex.quote(gated_env['PATH'])}")
        pane.start_fleet(f"--inventory {shlex.quote(ws)}", env=ui_env)
        captures.append(pane.wait_for("stibnite"))
        [ui_pid] = pane.child_pids()
        s = sampled(samplers, ui_pid, gate)
        remote_ui = NetnsSampler(host_netns(tbdir, "electrum"))
        remote_ui.start()
        samplers.append(remote_ui)
        pane.send("/")
        pane.tmux("send-keys", "-t", "e2e", "-l", "electrum")
        pane.send("Enter")
        pane.wait_for("stibnite", absent=True)
        pane.send("Space")
        pane.wait_for("1 marked")
        pane.send("d")
        pane.wait_for("Deploy 1 machine")
        pane.send("y")
        captures.append(pane.wait_for("user-password-root/user-password (before the deploy)", timeout=300))
        pane.tmux("send-keys", "-t", "e2e", "-l", ui_deploy_answer)
        captures.append(pane.wait_for("•" * len(ui_deploy_answer)))
        pane.send("Enter")
        captures.append(pane.wait_for("password for alice", timeout=300))
        pane.tmux("send-keys", "-t", "e2e", "-l", sudo_password)
        captures.append(pane.wait_for("•" * len(sudo_password)))
        pane.send("Enter")
        captures.append(pane.wait_for("1 ok, 0 failed", timeout=300))
        pane.send("q")
        assert pane.wait_for_exit() == 0
        s.finish()
        remote_ui.finish()
        captures.append(pane.tmux("capture-pane", "-p", "-S", "-", "-E", "-", "-t", "e2e").stdout)
        pane.close()
        pane = None
        assert askpass_leftovers(tbdir, "electrum", "alice") == [], "the askpass session's dir outlived the dashboard deploy"
        got = subprocess.run([FLEET_BIN, "vars", "get", "electrum", "user-password-root/user-password", "--repo", ws],
                             capture_output=True, env=env).stdout
        assert got.strip() == ui_deploy_answer.encode(), "the dashboard deploy did not generate the missing var from its answer"
        # The uploaded machine keys, read back from the hosts (into memory): they must not be local.
        uploaded = []
        for host in ("cinnabar", "electrum"):
            files = subprocess.run([TESTBED, "exec", host, "--", "find", "/var/lib/sops-nix", "-type", "f"], env=dict(os.environ, TESTBED_DIR=tbdir),
                                   capture_output=True, text=True, timeout=30).stdout.split()
            for f in files:
                data = subprocess.run([TESTBED, "exec", host, "--", "cat", f], env=dict(os.environ, TESTBED_DIR=tbdir),
                                      capture_output=True, timeout=30).stdout
                for line in data.split(b"\n"):
                    if line.startswith(b"AGE-SECRET-KEY-"):
                        uploaded.append(line.strip())
        assert len(uploaded) == 2, f"expected both machines' age keys on the hosts, found {len(uploaded)}"

        # The scans. Files and directories: tools/scan-secrets, the needles through a pipe (never a file).
        needles += uploaded
        r = subprocess.run([SCAN, "--null", "--needles-file", "/dev/stdin", ws, *dirs.values()],
                           input=b"\0".join(needles), capture_output=True)
        file_report = r.stdout.decode(errors="replace").strip()
        # In memory: git objects (zlib-compressed on disk, so decompressed here), pane captures,
        # process samples, fleet's own output.
        objects = subprocess.run(["git", "-C", ws, "cat-file", "--batch-all-objects", "--batch"], capture_output=True, check=True).stdout
        full = mod.Scanner(needles)
        full.scan_stream("git objects (decompressed)", io.BytesIO(objects))
        for i, c in enumerate(captures):
            full.scan_stream(f"pane capture {i}", io.BytesIO(c.encode()))
        for where, data in outputs:
            full.scan_stream(where, io.BytesIO(data))
        for s in samplers:
            for (cmd, environ), where in s.samples.items():
                full.scan_stream(where + " cmdline", io.BytesIO(cmd))
                full.scan_stream(where + " environ", io.BytesIO(environ))
        hits = [f"{w}: needle #{i} ({e})" for w, i, e in full.hits]
        file_hits = [l for l in file_report.splitlines() if l.startswith("HIT")]
        processes = sum(len(s.seen) for s in samplers)
        names = {n for s in samplers for n in s.seen.values()}
        history = os.path.join(dirs["state"], "fleet", "history.sqlite")
        # Nothing of the private work dirs (plaintext in RAM) outlives the runs.
        stale = [n for n in os.listdir("/dev/shm") if n.startswith("fleet-vars-") and
                 int(n.split("-")[2]) in {p for s in samplers for p in s.seen}]
        scanned = int(file_report.rsplit("scan-secrets: ", 1)[-1].split(" files")[0]) if "scan-secrets: " in file_report else 0
        record("secrets_hygiene", runs=1, files_scanned=scanned, leaks=len(hits) + len(file_hits) + len(stale), processes_sampled=processes,
               git_objects_bytes=len(objects))
        assert r.returncode in (0, 1), f"scan-secrets failed: {r.stdout}{r.stderr}"
        assert hits == [] and file_hits == [], "plaintext found:\n" + "\n".join(hits + file_hits)
        assert stale == [], f"private work dirs left: {stale}"
        # The scan covered what it claims: the history database, many files, fleet's children.
        assert os.path.exists(history), "no history database was written: the scan proved less than it claims"
        # The log file was scanned with the rest of dirs["state"]; it holds the dashboard run and the deploy.
        with open(os.path.join(dirs["state"], "fleet", "fleet.log"), encoding="utf-8") as f:
            log = f.read()
        for expected in ("fleet.ui: dashboard closed", "fleet.vars: generator user-password-root", "fleet.deploy: [cinnabar] secrets ok",
                         "fleet.deploy: deploy ", "fleet.process: "):
            assert expected in log, f"fleet.log lacks {expected!r}: the scan proved less than it claims"
        assert "ssh" in names and any(n in names for n in ("nix", "nix-build", "nix-store")) and "bwrap" in names, names
        assert processes >= 10, f"only {processes} processes sampled"
        assert len(objects) > 100000 and scanned > 100, (len(objects), file_report)
    finally:
        if pane:
            pane.close()
        subprocess.run([TESTBED, "down", "--dir", tbdir], capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)
