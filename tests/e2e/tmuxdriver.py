"""Drives the real `fleet` binary inside a real tmux pane, for end-to-end tests.

Each Pane runs on its own tmux server socket, so tests never touch a user's tmux and can run in
parallel. The pane runs a plain bash with a known prompt, so a test can tell when fleet has exited
and the shell is back.
"""
import os
import re
import shlex
import subprocess
import time
import uuid

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FLEET_BIN = os.environ.get("FLEET_BIN", os.path.join(REPO, ".build", "debug", "fleet"))
PROMPT = "E2E-READY$ "


def wait_until(predicate, timeout=20.0, interval=0.05, message=None, fail=True):
    """The one way an e2e test waits: calls `predicate` until it returns something truthy and
    returns that. After `timeout` seconds it raises AssertionError with `message` (a string, or a
    callable giving one, so it can show the screen at that moment) — or, with fail=False, returns
    the last falsy value, for a test that then reports what it saw. A fixed sleep is either too
    short on a loaded machine or wastes time on an idle one."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            break
        time.sleep(interval)
    if not value and fail:
        text = message() if callable(message) else message
        raise AssertionError(text or f"timed out after {timeout}s waiting for {getattr(predicate, '__name__', 'a condition')}")
    return value


class Pane:
    def __init__(self, width=120, height=40, env=None):
        self.socket = "fleet-e2e-" + uuid.uuid4().hex[:8]
        self.width, self.height = width, height
        environment = {"TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                       "PS1": PROMPT, "HOME": os.environ.get("HOME", "/root"),
                       "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        environment.update(env or {})
        envargs = []
        for k, v in environment.items():
            envargs += ["-e", f"{k}={v}"]
        self.tmux("new-session", "-d", "-s", "e2e", "-x", str(width), "-y", str(height),
                  *envargs, "bash --norc --noprofile")
        self.tmux("set-option", "-g", "window-size", "manual")
        # bash sets its own PS1 for an interactive shell; set ours and wait until it shows.
        self.type_line(f"PS1='{PROMPT}'; clear")
        self.wait_for(PROMPT.strip())

    def tmux(self, *args, check=True):
        return subprocess.run(["tmux", "-L", self.socket, *args], check=check,
                              capture_output=True, text=True)

    def send(self, *keys):
        self.tmux("send-keys", "-t", "e2e", *keys)

    def type_line(self, line):
        self.tmux("send-keys", "-t", "e2e", "-l", line)
        self.tmux("send-keys", "-t", "e2e", "Enter")

    def capture(self):
        return self.tmux("capture-pane", "-p", "-t", "e2e").stdout

    def wait_for(self, needle, timeout=20.0, absent=False):
        """Waits until `needle` is (or, with absent=True, is not) on screen; returns the screen."""
        seen = [""]

        def done():
            seen[0] = self.capture()
            return (needle in seen[0]) != absent
        wait_until(done, timeout, message=lambda: f"timed out waiting for {needle!r} (absent={absent}); screen:\n{seen[0]}")
        return self._settled(seen[0], lambda s: (needle in s) != absent)

    def _settled(self, screen, still_matches, tries=10):
        """A capture can land while a frame is half written (tmux reads the terminal's bytes in
        chunks), so the matching screen is re-read until two reads agree — for a live screen that
        never settles, at most `tries` times — and the last read that still matches is returned."""
        for _ in range(tries):
            time.sleep(0.03)
            again = self.capture()
            if again == screen or not still_matches(again):
                return screen
            screen = again
        return screen

    def wait_for_exit(self, timeout=20.0):
        """Waits for the EXIT=<n> line start_fleet prints and returns n."""
        codes = wait_until(lambda: re.findall(r"EXIT=(\d+)", self.capture()), timeout,
                           message=lambda: "fleet did not exit; screen:\n" + self.capture())
        return int(codes[-1])

    def resize(self, width, height):
        self.tmux("resize-window", "-t", "e2e", "-x", str(width), "-y", str(height))
        self.width, self.height = width, height

    def shell_pid(self):
        return int(self.tmux("display-message", "-p", "-t", "e2e", "#{pane_pid}").stdout.strip())

    def child_pids(self):
        out = subprocess.run(["pgrep", "-P", str(self.shell_pid())], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def start_fleet(self, args="", env=""):
        """Starts fleet in the pane; its exit status is printed as EXIT=<n> afterwards."""
        cmd = f"{env} {shlex.quote(FLEET_BIN)} {args}; echo EXIT=$?"
        self.type_line(cmd.strip())

    def close(self):
        self.tmux("kill-server", check=False)
