import CNcurses
#if canImport(Glibc)
import Glibc
#endif

/// The only code that talks to curses. It owns the terminal between `start()` and `stop()`,
/// draws a `ScreenBuffer` by repainting only the cells that changed since the last frame
/// (one `wnoutrefresh` + `doupdate` per frame), and decodes input into `Key`s.
/// Not thread-safe by design: the event loop calls it from one thread only.
final class NcursesBackend: TerminalBackend {
    private(set) var active = false
    private var screen: OpaquePointer?
    private var previous: ScreenBuffer?
    private var pairs: [PairKey: Int16] = [:]
    private var colors = false
    private let noColor: Bool

    private struct PairKey: Hashable { let fg: TermColor; let bg: TermColor }

    /// `$TERM` first, then the fallbacks.
    private let terminals: [String]
    private(set) var warning: String?

    init(noColor: Bool, terminals: [String]) {
        self.noColor = noColor
        self.terminals = terminals
    }

    /// Terminals tried, in order, when `$TERM` has no usable terminfo entry. Every ncurses install
    /// ships these (ncurses-base); all of them speak the ANSI sequences any emulator understands.
    static let fallbackTerminals = ["xterm-256color", "xterm", "vt100", "ansi"]

    /// Takes over the terminal with the first of `terminals` curses can drive; false (the terminal
    /// untouched) when none can. `newterm`, unlike `initscr`, reports a missing or unusable terminfo
    /// entry instead of exiting the process (issue 16: `TERM=dumb` → rc 1). The locale must be set
    /// before curses starts for wide characters.
    func start(wakeFD: Int32) -> Bool {
        // The modes are saved before curses changes them, so a crash can restore them.
        TerminalGuard.install(wakeFD: wakeFD)
        setlocale(LC_ALL, "")
        // Take the size from the terminal, never from LINES/COLUMNS in the environment: a stale
        // exported value would pin the screen size and make resizes invisible.
        use_env(false)
        // Streams of our own on fds 1 and 0 (the C globals are not concurrency-safe to touch).
        let out = fdopen(STDOUT_FILENO, "w"), input = fdopen(STDIN_FILENO, "r")
        for name in terminals where !name.isEmpty {
            if let screen = newterm(name, out, input) {
                self.screen = screen
                if name != terminals.first { warning = "no usable terminfo entry for TERM=\(terminals.first ?? ""): drawing as \(name)" }
                break
            }
        }
        guard screen != nil else { return false }
        active = true
        syncSizeWithTerminal()
        raw()            // ctrl-c arrives as a key; SIGINT from outside is handled by the loop
        noecho()
        nonl()
        keypad(fleet_stdscr(), true)
        nodelay(fleet_stdscr(), true)
        set_escdelay(25)
        curs_set(0)
        if has_colors() && !noColor {
            start_color()
            use_default_colors()
            colors = true
        }
        mousemask(mmask_t(fleet_all_mouse_events()), nil)
        mouseinterval(0)
        TerminalGuard.chainResize()
        return true
    }

    /// Gives the terminal back. Safe to call twice.
    func stop() {
        guard active else { return }
        active = false
        endwin()
        if let screen { delscreen(screen) }
        screen = nil
    }

    var size: (width: Int, height: Int) {
        var y: Int32 = 0, x: Int32 = 0
        fleet_getmaxyx(fleet_stdscr(), &y, &x)
        return (Int(x), Int(y))
    }

    /// Curses computes the new size inside its SIGWINCH handling and can land on a stale or default
    /// (80x24) size when the pty changes size more than once in a burst; the kernel's answer is the
    /// truth, so adopt it when the two disagree.
    private func syncSizeWithTerminal() {
        var ws = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_row > 0, ws.ws_col > 0 else { return }
        if Int32(ws.ws_row) != fleet_lines() || Int32(ws.ws_col) != fleet_cols() {
            resize_term(Int32(ws.ws_row), Int32(ws.ws_col))
        }
    }

    /// Forces the next frame to repaint everything (after resize or a terminal mess).
    func invalidate() {
        previous = nil
        clearok(fleet_stdscr(), true)
    }

    func draw(_ buf: ScreenBuffer) {
        let win = fleet_stdscr()
        let full = previous == nil || previous!.width != buf.width || previous!.height != buf.height
        if full { werase(win) }
        for y in previous.map(buf.changedRows(since:)) ?? Array(0..<buf.height) {
            for x in 0..<buf.width {
                let cell = buf[x, y]
                if cell.isContinuation { continue }
                if !full, let p = previous, p[x, y] == cell { continue }
                putCell(win, x: x, y: y, cell)
            }
        }
        previous = buf
        wnoutrefresh(win)
        doupdate()
    }

    private func putCell(_ win: UnsafeMutablePointer<WINDOW>?, x: Int, y: Int, _ cell: Cell) {
        var chars: [wchar_t] = cell.grapheme.unicodeScalars.prefix(4).map { wchar_t(bitPattern: $0.value) }
        chars.append(0)
        let (attrs, pair) = attributes(cell.style)
        _ = fleet_put_cell(win, Int32(y), Int32(x), chars, attrs, pair)
    }

    private func attributes(_ s: Style) -> (attr_t, Int16) {
        var a = fleet_a_normal()
        if s.bold { a |= fleet_a_bold() }
        if s.dim { a |= fleet_a_dim() }
        if s.reverse { a |= fleet_a_reverse() }
        if s.underline { a |= fleet_a_underline() }
        guard colors else { return (a, 0) }
        return (a, pair(fg: s.fg, bg: s.bg))
    }

    /// Colour pairs are allocated once per (fg, bg) and reused.
    private func pair(fg: TermColor, bg: TermColor) -> Int16 {
        if fg == .default && bg == .default { return 0 }
        let key = PairKey(fg: fg, bg: bg)
        if let p = pairs[key] { return p }
        let next = pairs.count + 1
        guard next < Int(fleet_color_pairs()), next < Int(Int16.max) else { return 0 }
        init_pair(Int16(next), number(fg), number(bg))
        pairs[key] = Int16(next)
        return Int16(next)
    }

    private func number(_ c: TermColor) -> Int16 {
        let available = Int(fleet_colors())
        switch c {
        case .default: return -1
        case .ansi(let n): return Int16(Int(n) < available ? Int(n) : Int(n) % 8)
        case .indexed(let n): return Int16(Int(n) < available ? Int(n) : Int(n) % 8)
        }
    }

    func wait(wakeFD: Int32, timeoutMillis: Int32) -> BackendWake {
        var fds = [
            pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
        ]
        // A signal interrupts poll (EINTR); SIGWINCH and INT/TERM/HUP also write to wakeFD.
        let r = poll(&fds, nfds_t(fds.count), timeoutMillis)
        return BackendWake(posted: r > 0 && fds[1].revents != 0,
                           hangup: r > 0 && fds[0].revents & Int16(POLLHUP | POLLERR) != 0)
    }

    func takeSignal() -> Int32 { TerminalGuard.takeSignal() }

    /// Reads every pending input without blocking. `KEY_RESIZE` becomes a resize event.
    func readInput() -> [Event] {
        var out: [Event] = []
        while true {
            var wch: wint_t = 0
            let r = wget_wch(fleet_stdscr(), &wch)
            if r == ERR { break }
            if r == fleet_key_code_yes() {
                if let e = decodeKeyCode(Int32(wch)) { out.append(e) }
            } else if let k = decodeChar(UInt32(wch)) {
                out.append(.key(k))
            }
        }
        return out
    }

    private func decodeChar(_ v: UInt32) -> Key? {
        switch v {
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        case 1...26: return .ctrl(Character(Unicode.Scalar(v + 96)!))
        default:
            guard let u = Unicode.Scalar(v) else { return nil }
            return .char(Character(u))
        }
    }

    private func decodeKeyCode(_ code: Int32) -> Event? {
        switch code {
        case fleet_key_resize():
            syncSizeWithTerminal()
            invalidate()
            let s = size
            return .resize(width: s.width, height: s.height)
        case fleet_key_mouse():
            var x: Int32 = 0, y: Int32 = 0
            var state: UInt = 0
            guard fleet_get_mouse(&x, &y, &state) == OK else { return nil }
            if state & fleet_button4_pressed() != 0 { return .key(.wheelUp(x: Int(x), y: Int(y))) }
            if fleet_button5_pressed() != 0, state & fleet_button5_pressed() != 0 { return .key(.wheelDown(x: Int(x), y: Int(y))) }
            if state & (fleet_button1_pressed() | fleet_button1_clicked()) != 0 { return .key(.mouseClick(x: Int(x), y: Int(y))) }
            return nil
        case KEY_UP: return .key(.up)
        case KEY_DOWN: return .key(.down)
        case KEY_LEFT: return .key(.left)
        case KEY_RIGHT: return .key(.right)
        case KEY_PPAGE: return .key(.pageUp)
        case KEY_NPAGE: return .key(.pageDown)
        case KEY_HOME: return .key(.home)
        case KEY_END: return .key(.end)
        case KEY_BTAB: return .key(.backTab)
        case KEY_BACKSPACE: return .key(.backspace)
        case KEY_DC: return .key(.delete)
        case KEY_ENTER: return .key(.enter)
        case KEY_F0 + 1...KEY_F0 + 12: return .key(.function(Int(code - KEY_F0)))
        default: return nil
        }
    }
}
