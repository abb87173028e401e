"""The k9s/lazygit interaction layer, driven through the real binary in tmux (issue 8)."""
from tmuxdriver import wait_until


def click(pane, x, y):
    """An X10 mouse press + release at (x, y), 0-based, as a terminal sends it (kmous=\\E[M)."""
    press = "\x1b[M" + chr(32 + 0) + chr(32 + x + 1) + chr(32 + y + 1)
    release = "\x1b[M" + chr(32 + 3) + chr(32 + x + 1) + chr(32 + y + 1)
    pane.tmux("send-keys", "-t", "e2e", "-l", press + release)


def body_rows(screen):
    return [l for l in screen.splitlines()[3:-1] if l.strip()]


def test_filter_tags_palette_help_tabs_mouse_resize(pane):
    pane.start_fleet()
    pane.wait_for("stibnite")

    # / filter to one tag: only the gpu machine stays.
    pane.send("/")
    pane.tmux("send-keys", "-t", "e2e", "-l", "gpu")
    screen = pane.wait_for("cinnabar", absent=True)
    rows = body_rows(screen)
    assert "/gpu" in screen.splitlines()[-1], screen
    assert any("scheelite" in r for r in rows) and not any("cinnabar" in r for r in rows), screen
    pane.send("Escape")
    screen = pane.wait_for("cinnabar")

    # @ tag selector: pick "gpu", enter marks it.
    pane.send("@")
    screen = pane.wait_for("Select by tag")
    tags = [l for l in screen.splitlines() if "[ ] @" in l]
    gpu = next(i for i, l in enumerate(tags) if "@gpu " in l)
    for _ in range(gpu):
        pane.send("j")
    pane.send("Space")
    pane.wait_for("[x] @gpu")
    pane.send("Enter")
    screen = pane.wait_for("1 marked")

    # : palette with completion, then run a command (switch to the Services screen).
    pane.send(":")
    pane.wait_for("Command")
    pane.tmux("send-keys", "-t", "e2e", "-l", "serv")
    pane.send("Tab")
    pane.wait_for(":services")
    pane.send("Enter")
    screen = pane.wait_for("INSTANCE")
    assert "zerotier" in screen and "controller" in screen

    # ? help overlay generated from the key map.
    pane.send("?")
    screen = pane.wait_for("Keys")
    assert "command palette" in screen and "select machines by tag" in screen
    pane.send("Escape")
    pane.wait_for("Keys", absent=True)

    # Every tab, by number and with tab.
    for key, marker in [("1", "CLASS"), ("2", "INSTANCE"), ("3", "Deploy"), ("4", "Vars"),
                        ("5", "OVERLAY IP"), ("6", "History")]:
        pane.send(key)
        pane.wait_for(marker)
    pane.send("Tab")
    pane.wait_for("CLASS")

    # Mouse: click the Network tab, then back on Fleet click the row of galena.
    screen = pane.capture()
    tabs = screen.splitlines()[1]
    click(pane, tabs.index("5 Network") + 1, 1)
    pane.wait_for("OVERLAY IP")
    click(pane, tabs.index("1 Fleet") + 1, 1)
    screen = pane.wait_for("CLASS")
    galena_y = next(i for i, l in enumerate(screen.splitlines()) if "galena" in l)
    click(pane, 5, galena_y)
    pane.wait_for("▶ galena")

    # Resize 120x40 → 70x20 → 120x40 redraws each time.
    pane.resize(70, 20)
    pane.wait_for("DESCRIPTION", absent=True)

    def narrow_frame():
        screen = pane.capture()
        return "DEMO" in screen.splitlines()[0] and "▶ galena" in screen
    wait_until(narrow_frame, 10, message=pane.capture)
    # Column priorities (issue 16): DESCRIPTION goes first; NAME, STATUS and SECRETS stay.
    header = pane.capture().splitlines()[2]
    assert all(c in header for c in ("NAME", "STATUS", "SECRETS")), header
    pane.resize(120, 40)
    screen = pane.wait_for("DESCRIPTION")
    assert "▶ galena" in screen

    pane.send("q")
    pane.wait_for("EXIT=0")


def test_theme_error_shows_default_theme(pane, tmp_path):
    themes = tmp_path / "fleet" / "themes"
    themes.mkdir(parents=True)
    (themes / "broken.toml").write_text('name = "broken"\n[styles]\ncursor = { fg = "not-a-colour" }\n')
    pane.start_fleet(args="--theme broken", env=f"XDG_CONFIG_HOME={tmp_path}")
    screen = pane.wait_for("using the default theme")
    assert "broken.toml:3: styles.cursor" in screen.replace("\n", "") or "broken.toml:3" in screen
    pane.wait_for("stibnite")   # the fleet, drawn in the default theme (it may arrive after the toast)
    pane.send("q")
    pane.wait_for("EXIT=0")


def test_config_error_names_file_key_line(pane, tmp_path):
    cfg = tmp_path / "fleet"
    cfg.mkdir(parents=True)
    (cfg / "config.toml").write_text('theme = "light"\nhost_key_policy = "yolo"\n')
    pane.start_fleet(env=f"XDG_CONFIG_HOME={tmp_path}")
    screen = pane.wait_for("EXIT=1")
    assert "config.toml:2: host_key_policy" in screen.replace("\n", "")
