import CNcursesShim

/// Signal routing and last-resort terminal restoration (the state is in CNcursesShim/fleet_tty.c).
enum TerminalGuard {
    /// Saves the terminal modes so a crash can restore them, and routes INT/TERM/HUP to `wakeFD`.
    static func install(wakeFD: Int32) {
        fleet_save_termios()
        fleet_install_signals(wakeFD)
    }

    /// Wakes the loop on SIGWINCH too, keeping curses' own handler. Call after curses started.
    static func chainResize() { fleet_chain_sigwinch() }

    /// The signal that arrived since the last call, or 0.
    static func takeSignal() -> Int32 { fleet_take_signal() }
}
