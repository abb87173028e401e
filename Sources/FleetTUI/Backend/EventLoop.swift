import CNcurses
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
    private let ctx: RenderContext

    init(state: AppState, ctx: RenderContext, noColor: Bool) {
        self.state = state
        self.ctx = ctx
        backend = NcursesBackend(noColor: noColor)
        effects = EffectRunner(queue: queue)
    }

    /// Returns the process exit status: 0 on quit, 128+signal when a signal ended the UI.
    func run(initialEffects: [Effect]) -> Int32 {
        TerminalGuard.install(wakeFD: queue.writeFD)
        backend.start()
        TerminalGuard.chainResize()
        defer { backend.stop() }
        let s = backend.size
        state.width = s.width
        state.height = s.height
        for e in initialEffects { effects.perform(e) }
        backend.draw(AppView.render(state, ctx: ctx))

        while state.running {
            var fds = [
                pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
                pollfd(fd: queue.readFD, events: Int16(POLLIN), revents: 0),
            ]
            // No timers yet: sleep until input, a posted event or a signal (EINTR also wakes us,
            // which is how SIGWINCH reaches curses' KEY_RESIZE).
            let r = poll(&fds, nfds_t(fds.count), -1)
            var events: [Event] = []
            let sig = TerminalGuard.takeSignal()
            if sig != 0 { events.append(.terminate(signal: sig)) }
            if r > 0 && fds[1].revents != 0 { events += queue.drain() }
            // Always ask curses: after EINTR it may have a pending KEY_RESIZE.
            events += backend.readInput()
            if r > 0 && fds[0].revents & Int16(POLLHUP | POLLERR) != 0 && events.isEmpty {
                // The terminal went away: nothing more will ever arrive.
                events.append(.terminate(signal: SIGHUP))
            }
            guard !events.isEmpty else { continue }
            let before = state
            for e in events {
                for effect in Reducer.reduce(&state, e) { effects.perform(effect) }
                if !state.running { break }
            }
            // After a resize curses has already reshaped (and possibly blanked) its screen, so a
            // resize always repaints, even when the size ends up where it was.
            let resized = events.contains { if case .resize = $0 { return true } else { return false } }
            if state.running && (state != before || resized) {
                backend.draw(AppView.render(state, ctx: ctx))
            }
        }
        return state.exitSignal.map { 128 + $0 } ?? 0
    }
}
