"""The walking skeleton end to end: real binary, real tmux, real terminal restoration."""
import os
import signal
import subprocess
import time

from tmuxdriver import PROMPT, wait_until

DEMO_MACHINES = ["cinnabar", "electrum", "galena", "scheelite", "blackphos", "stibnite", "rosegold", "argentum"]


def terminal_is_sane(pane):
    """After fleet exits, the tty must be back in cooked mode with echo (what endwin restores).
    The marker is printed as STTY-DONE-42 but typed as STTY-DONE-$((6*7)), so the typed command line
    never matches: waiting for it means the pipeline has finished (and its processes are gone)."""
    marker = "STTY-DONE-42"
    pane.type_line("stty -a | tr ' ' '\\n' | grep -E '^-?(echo|icanon)$' | tr '\\n' ' '; echo STTY-DONE-$((6*7))")
    screen = pane.wait_for(marker)
    flags = next(l for l in reversed(screen.splitlines()) if marker in l).split(marker)[0].split()
    return "icanon" in flags and "echo" in flags and "-icanon" not in flags and "-echo" not in flags


def test_demo_fleet_cursor_and_quit(pane):
    pane.start_fleet()
    screen = pane.wait_for("stibnite")
    for name in DEMO_MACHINES:
        assert name in screen
    assert "DEMO" in screen.splitlines()[0]
    assert "▶ argentum" in screen
    pane.send("j")
    pane.wait_for("▶ blackphos")
    pane.send("Down")
    screen = pane.wait_for("▶ cinnabar")
    assert "3/8" in screen
    pane.send("q")
    screen = pane.wait_for("EXIT=0")
    assert PROMPT.strip() in screen.split("EXIT=0")[-1]
    assert terminal_is_sane(pane)


def test_sigterm_restores_terminal(pane):
    pane.start_fleet()
    pane.wait_for("stibnite")
    pids = pane.child_pids()
    assert len(pids) == 1, pids
    os.kill(pids[0], signal.SIGTERM)
    screen = pane.wait_for("EXIT=143")
    assert "stibnite" not in screen, "the dashboard should be gone (alternate screen left)"
    assert pane.child_pids() == [], "fleet must have exited, leaving no child behind"
    assert terminal_is_sane(pane)


def test_resize_redraws(pane):
    pane.start_fleet()
    pane.wait_for("stibnite")
    pane.resize(70, 20)
    # The narrow layout drops DESCRIPTION first; wait for that, then check the whole frame.
    pane.wait_for("DESCRIPTION", absent=True)

    def narrow_frame():
        screen = pane.capture()
        lines = screen.splitlines()
        return (len(lines) >= 20 and "DEMO" in lines[0] and len(lines[0].rstrip()) <= 70
                and "3 Deploy" in lines[1] and "▶ argentum" in screen and "q quit" in lines[19])
    wait_until(narrow_frame, 10, message=pane.capture)
    pane.resize(50, 12)
    screen = pane.wait_for("Terminal too small")
    assert "50x12" in screen
    pane.resize(120, 40)
    screen = pane.wait_for("DESCRIPTION")
    assert "workstation" in screen
    pane.send("q")
    pane.wait_for("EXIT=0")


def test_list_json_lists_eight_machines():
    import json
    import subprocess
    from tmuxdriver import FLEET_BIN
    out = subprocess.run([FLEET_BIN, "list", "--json"], capture_output=True, text=True, check=True, cwd="/")
    machines = json.loads(out.stdout)
    assert sorted(m["name"] for m in machines) == sorted(DEMO_MACHINES)
    by = {m["name"]: m for m in machines}
    assert by["cinnabar"]["class"] == "nixos" and by["cinnabar"]["system"] == "x86_64-linux"
    assert by["stibnite"]["class"] == "darwin" and by["stibnite"]["system"] == "aarch64-darwin"
    assert by["cinnabar"]["targetHost"] == "root@cinnabar.zt"
    assert by["argentum"]["targetHost"] is None
    assert "zerotier/controller" in by["cinnabar"]["roles"]
    assert "zerotier/peer" in by["electrum"]["roles"] and "zerotier/controller" not in by["stibnite"]["roles"]
    # The JSON must survive python's json.tool, as the README shows.
    subprocess.run(["python3", "-m", "json.tool"], input=out.stdout, text=True, check=True, capture_output=True)


def test_fatal_error_restores_terminal(pane):
    """A crash (Swift fatalError → SIGILL/SIGTRAP) still leaves the terminal usable."""
    pane.start_fleet(env="FLEET_TEST_CRASH_KEY=!")
    pane.wait_for("stibnite")
    pane.tmux("send-keys", "-t", "e2e", "-l", "!")
    status = pane.wait_for_exit()
    assert status in (128 + 4, 128 + 5, 128 + 6), status   # SIGILL, SIGTRAP or SIGABRT
    assert pane.child_pids() == []
    assert terminal_is_sane(pane)


def test_sigint_and_sighup_restore_terminal(pane):
    for sig, code in ((signal.SIGINT, 130), (signal.SIGHUP, 129)):
        pane.start_fleet()
        pane.wait_for("stibnite")
        pids = pane.child_pids()
        os.kill(pids[0], sig)
        pane.wait_for(f"EXIT={code}")
        assert terminal_is_sane(pane)
        pane.type_line("clear")
        pane.wait_for(f"EXIT={code}", absent=True)


def test_idle_ui_uses_no_cpu(pane):
    """Idle means blocked in poll(2): once the start-up work is over, no CPU time accrues over two
    seconds. "Over" is read from the process, not guessed from a pause: under load a background
    task can wait longer for a CPU than any pause, and then its work lands in the measured window."""
    pane.start_fleet()
    pane.wait_for("stibnite")
    pid = pane.child_pids()[0]

    def cpu_ticks():
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def thread_states():
        states = []
        for t in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{t}/stat") as f:
                    states.append(f.read().rsplit(")", 1)[1].split()[0])
            except OSError:
                pass   # a pool thread that just exited
        return states

    # Quiet: every thread asleep (a thread that waits for a CPU is "R", one in disk I/O "D"), no
    # child process, and no CPU time since the previous look — twice in a row.
    last, quiet_looks = [-1], [0]

    def quiet():
        now = cpu_ticks()
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        still = now == last[0] and not children and all(st == "S" for st in thread_states())
        last[0] = now
        quiet_looks[0] = quiet_looks[0] + 1 if still else 0
        return quiet_looks[0] >= 2
    wait_until(quiet, 60, interval=0.5, message=lambda: f"fleet never went quiet: threads {thread_states()}, ticks {cpu_ticks()}")
    before = cpu_ticks()
    time.sleep(2.0)   # the measured window itself, not a wait for something
    assert cpu_ticks() - before <= 1, "the idle UI should not spin"
    pane.send("q")
    pane.wait_for("EXIT=0")
