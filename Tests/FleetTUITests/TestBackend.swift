@testable import FleetTUI
#if canImport(Glibc)
import Glibc
#endif

/// A terminal in memory for tests of the event loop: it keeps the last frame drawn, plays a
/// script of inputs one per wake-up, and runs its own clock, which a wait with a timeout moves
/// forward instantly (so a toast expiring takes no real time). When the script is used up and the
/// loop would sleep forever, the terminal "hangs up", as a closed terminal does.
final class TestBackend: TerminalBackend {
    enum Input: Equatable {
        case key(Key)
        /// The terminal changes size.
        case resize(width: Int, height: Int)
        /// A signal arrives (INT/TERM/HUP).
        case signal(Int32)
    }

    private(set) var size: (width: Int, height: Int)
    private var script: [Input]
    private var pendingInput: [Event] = []
    private var pendingSignal: Int32 = 0
    /// Seconds; the loop's clock when tests pass `{ backend.now }`.
    private(set) var now: Double
    private(set) var screen: ScreenBuffer
    /// Rows that changed in each frame drawn, in order.
    private(set) var frames: [[Int]] = []
    private(set) var started = false
    private(set) var stopped = false
    /// How long each wait was allowed to sleep (-1: forever).
    private(set) var timeouts: [Int32] = []
    /// Called after each frame with the screen (e.g. to post the next event once something shows).
    var afterDraw: ((ScreenBuffer) -> Void)?

    init(width: Int, height: Int, script: [Input], now: Double = 1000) {
        size = (width, height)
        self.script = script
        self.now = now
        screen = ScreenBuffer(width: width, height: height)
    }

    func start(wakeFD: Int32) -> Bool { started = true; return true }
    func stop() { stopped = true }

    func draw(_ buf: ScreenBuffer) {
        // The first frame paints everything, as on a fresh terminal.
        frames.append(frames.isEmpty ? Array(0..<buf.height) : buf.changedRows(since: screen))
        screen = buf
        afterDraw?(buf)
    }

    func wait(wakeFD: Int32, timeoutMillis: Int32) -> BackendWake {
        timeouts.append(timeoutMillis)
        var fd = pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)
        let posted = poll(&fd, 1, 0) > 0
        if !script.isEmpty {
            switch script.removeFirst() {
            case .key(let k): pendingInput.append(.key(k))
            case .resize(let w, let h):
                size = (w, h)
                pendingInput.append(.resize(width: w, height: h))
            case .signal(let s): pendingSignal = s
            }
            return BackendWake(posted: posted)
        }
        if posted { return BackendWake(posted: true) }
        if timeoutMillis >= 0 {
            now += Double(timeoutMillis) / 1000
            return BackendWake()
        }
        return BackendWake(hangup: true)
    }

    func readInput() -> [Event] {
        defer { pendingInput.removeAll() }
        return pendingInput
    }

    func takeSignal() -> Int32 {
        defer { pendingSignal = 0 }
        return pendingSignal
    }
}
