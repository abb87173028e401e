/// What the event loop needs from a terminal: `NcursesBackend` on a real one, `TestBackend` (an
/// in-memory screen with scripted input) in `swift test`. Called from the loop's thread only.
protocol TerminalBackend: AnyObject {
    /// Takes over the terminal; false when it cannot (no usable terminal description). INT/TERM/HUP
    /// and resizes from now on also write to `wakeFD`.
    func start(wakeFD: Int32) -> Bool
    /// Something the user should know about how the terminal was taken (e.g. a fallback description).
    var warning: String? { get }
    /// Gives the terminal back. Safe to call twice.
    func stop()
    var size: (width: Int, height: Int) { get }
    /// Shows a frame.
    func draw(_ buf: ScreenBuffer)
    /// Sleeps until input, a byte on `wakeFD` (a posted event or a signal), or `timeoutMillis`
    /// (-1: no timeout). An idle UI sleeps here and uses no CPU.
    func wait(wakeFD: Int32, timeoutMillis: Int32) -> BackendWake
    /// Every pending input, without blocking; a changed terminal size arrives as `.resize`.
    func readInput() -> [Event]
    /// The signal that arrived since the last call, or 0.
    func takeSignal() -> Int32
}

extension TerminalBackend {
    var warning: String? { nil }
}

/// Why `TerminalBackend.wait` returned.
struct BackendWake: Equatable {
    /// `wakeFD` is readable: events were posted (or a signal handler wrote to it).
    var posted = false
    /// The terminal is gone: nothing more will ever arrive from it.
    var hangup = false
}
