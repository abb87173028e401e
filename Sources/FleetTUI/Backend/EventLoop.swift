import CNcurses
import Foundation
import FleetModel
#if canImport(Glibc)
import Glibc
#endif

/// Runs the app: waits for input, posted events or signals, applies each through the reducer,
/// performs effects, and draws a frame when something changed. Curses is touched only here.
final class EventLoop {
    private let backend: NcursesBackend
    private let queue = EventQueue()
    private let effects: EffectRunner
    private var state: AppState
    /// Set by the benchmark harness only (FLEET_BENCH_FRAME_LOG).
    private var benchProbe = BenchProbe.fromEnvironment()
    private let crashKey: Character? = ProcessInfo.processInfo.environment["FLEET_TEST_CRASH_KEY"].flatMap(\.first)

    init(state: AppState, noColor: Bool, deploySettings: DeploySettings = DeploySettings()) {
        self.state = state
        backend = NcursesBackend(noColor: noColor)
        effects = EffectRunner(queue: queue, source: state.source, deploySettings: deploySettings)
    }

    /// Returns the process exit status: 0 on quit, 128+signal when a signal ended the UI; nil when
    /// curses can drive none of `terminals` (nothing was drawn; the caller falls back to text).
    func run(terminals: [String], initialEffects: [Effect], initialEvents: [Event] = []) -> Int32? {
        TerminalGuard.install(wakeFD: queue.writeFD)
        guard let used = backend.start(terminals: terminals) else { return nil }
        var initialEvents = initialEvents
        if let asked = terminals.first, used != asked {
            initialEvents.append(.toast("no usable terminfo entry for TERM=\(asked): drawing as \(used)", .error))
        }
        TerminalGuard.chainResize()
        defer { backend.stop() }
        let s = backend.size
        state.width = s.width
        state.height = s.height
        state.clock = Self.now()
        for e in initialEffects { effects.perform(e) }
        for e in initialEvents { queue.post(e) }
        backend.draw(AppView.render(state))
        if state.inventory != nil { benchProbe?.firstFrameDrawn(state: &state) }

        while state.running {
            var fds = [
                pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
                pollfd(fd: queue.readFD, events: Int16(POLLIN), revents: 0),
            ]
            // Sleep until input, a posted event, a signal (EINTR; SIGWINCH also writes to the
            // pipe) or the next deadline in the state (a toast expiring). Idle means no wake-ups.
            let r = poll(&fds, nfds_t(fds.count), timeoutMillis())
            var events: [Event] = [.tick(now: Self.now())]
            let sig = TerminalGuard.takeSignal()
            if sig != 0 { events.append(.terminate(signal: sig)) }
            if r > 0 && fds[1].revents != 0 { events += queue.drain() }
            // Always ask curses: after EINTR it may have a pending KEY_RESIZE.
            events += backend.readInput()
            if r > 0 && fds[0].revents & Int16(POLLHUP | POLLERR) != 0 && events.isEmpty {
                // The terminal went away: nothing more will ever arrive.
                events.append(.terminate(signal: SIGHUP))
            }
            guard events.count > 1 || state.deployRunning || state.toasts.contains(where: { $0.expiresAt <= Self.now() }) else { continue }
            let before = state
            // Test hook (issue 10's "injected fatal error"): with FLEET_TEST_CRASH_KEY=c, pressing c
            // crashes the process, so tests can check the terminal is restored on the fatal path.
            if let crashKey = crashKey, events.contains(where: { if case .key(.char(crashKey)) = $0 { return true } else { return false } }) {
                fatalError("injected fatal error (FLEET_TEST_CRASH_KEY)")
            }
            for e in events {
                for effect in Reducer.reduce(&state, e) { effects.perform(effect) }
                if !state.running { break }
            }
            // After a resize curses has already reshaped (and possibly blanked) its screen, so a
            // resize always repaints, even when the size ends up where it was.
            let resized = events.contains { if case .resize = $0 { return true } else { return false } }
            if state.running && (state != before || resized) {
                backend.draw(AppView.render(state))
                if state.inventory != nil { benchProbe?.firstFrameDrawn(state: &state) }
            }
        }
        effects.shutdown()
        return state.exitSignal.map { 128 + $0 } ?? 0
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// -1 (forever) unless something in the state expires.
    private func timeoutMillis() -> Int32 {
        // A running deploy shows elapsed times: wake once a second for them.
        let deployTick: Double? = state.deployRunning ? Self.now() + 1 : nil
        guard let next = (state.toasts.map(\.expiresAt) + [deployTick].compactMap { $0 }).min() else { return -1 }
        return Int32(max(0, min(60_000, (next - Self.now()) * 1000 + 5)))
    }
}
