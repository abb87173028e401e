import Foundation
import FleetModel
#if canImport(Glibc)
import Glibc
#endif

/// Performs the reducer's effects at the edge (`EffectRunner`; tests record them instead).
protocol EffectPerforming: AnyObject {
    func perform(_ effect: Effect)
    /// Ends background work that owns processes; called once when the loop ends.
    func shutdown()
    /// The first frame showing the fleet (or its preview) has been drawn; called once.
    func fleetShown()
}

extension EffectPerforming {
    func fleetShown() {}
}

extension EffectRunner: EffectPerforming {}

/// Runs the app: waits for input, posted events or signals, applies each through the reducer,
/// performs effects, and draws a frame when something changed. The terminal is behind
/// `TerminalBackend`, so the loop runs in `swift test` on an in-memory one.
final class EventLoop {
    private let backend: TerminalBackend
    let queue: EventQueue
    private let effects: EffectPerforming
    private let clock: () -> Double
    private(set) var state: AppState
    /// Set by the benchmark harness only (FLEET_BENCH_FRAME_LOG).
    private var benchProbe = BenchProbe.fromEnvironment()
    private let crashKey: Character? = ProcessInfo.processInfo.environment["FLEET_TEST_CRASH_KEY"].flatMap(\.first)
    /// A big cached fleet's first screen (`Event.inventoryPreview`), drawn until the inventory (or
    /// a load error) is there; never part of `state`.
    private var preview: FleetPreview?
    private var fleetShown = false

    /// The dashboard on the real terminal.
    convenience init(state: AppState, noColor: Bool, terminals: [String], deploySettings: DeploySettings = DeploySettings()) {
        let queue = EventQueue()
        self.init(state: state, backend: NcursesBackend(noColor: noColor, terminals: terminals), queue: queue,
                  effects: EffectRunner(queue: queue, source: state.source, deploySettings: deploySettings))
    }

    init(state: AppState, backend: TerminalBackend, queue: EventQueue, effects: EffectPerforming,
         clock: @escaping () -> Double = EventLoop.now) {
        self.state = state
        self.backend = backend
        self.queue = queue
        self.effects = effects
        self.clock = clock
    }

    /// Returns the process exit status: 0 on quit, 128+signal when a signal ended the UI; nil when
    /// the backend can drive no terminal (nothing was drawn; the caller falls back to text).
    func run(initialEffects: [Effect], initialEvents: [Event] = []) -> Int32? {
        // The initial effects (the inventory load) start before the terminal is set up, so the two
        // overlap; their results wait in the queue until the loop drains it.
        for e in initialEffects { effects.perform(e) }
        guard backend.start(wakeFD: queue.writeFD) else { return nil }
        var initialEvents = initialEvents
        if let warning = backend.warning { initialEvents.append(.toast(warning, .error)) }
        defer { backend.stop() }
        let s = backend.size
        state.width = s.width
        state.height = s.height
        state.clock = clock()
        for e in initialEvents { queue.post(e) }
        // A fleet already here when the terminal is ready (a cached fleet's preview, the demo) is
        // in the first frame: no "Loading inventory…" frame drawn just before it.
        var early: [Effect] = []
        if let events = queue.drain(ifAny: Self.isInventoryResult) {
            _ = takePreview(events)
            for e in events where state.running { early += Reducer.reduce(&state, e) }
        }
        draw()
        for effect in early { effects.perform(effect) }

        while state.running {
            // Sleep until input, a posted event, a signal or the next deadline in the state (a
            // toast expiring). Idle means no wake-ups.
            let wake = backend.wait(wakeFD: queue.readFD, timeoutMillis: timeoutMillis())
            var events: [Event] = [.tick(now: clock())]
            let sig = backend.takeSignal()
            if sig != 0 { events.append(.terminate(signal: sig)) }
            if wake.posted { events += queue.drain() }
            let previewed = takePreview(events)
            // Always ask the terminal: after a signal it may have a pending resize.
            events += backend.readInput()
            // The terminal went away: nothing more will ever arrive.
            if wake.hangup && events.count == 1 { events.append(.terminate(signal: SIGHUP)) }
            guard events.count > 1 || state.deployRunning || state.toasts.contains(where: { $0.expiresAt <= clock() }) else { continue }
            let before = state
            // Test hook (issue 10's "injected fatal error"): with FLEET_TEST_CRASH_KEY=c, pressing c
            // crashes the process, so tests can check the terminal is restored on the fatal path.
            if let crashKey = crashKey, events.contains(where: { if case .key(.char(crashKey)) = $0 { return true } else { return false } }) {
                fatalError("injected fatal error (FLEET_TEST_CRASH_KEY)")
            }
            var pending: [Effect] = []
            for e in events {
                pending += Reducer.reduce(&state, e)
                if !state.running { break }
            }
            // After a resize curses has already reshaped (and possibly blanked) its screen, so a
            // resize always repaints, even when the size ends up where it was.
            let resized = events.contains { if case .resize = $0 { return true } else { return false } }
            if state.running && (changesFrame(from: before) || resized || previewed) { draw() }
            // Effects start after the frame: the work they start (the rest of a 10k-machine fleet's
            // addresses, the vars scan) must not compete with drawing what is already known.
            for effect in pending { effects.perform(effect) }
        }
        effects.shutdown()
        return state.exitSignal.map { 128 + $0 } ?? 0
    }

    /// Draws the state, or while no inventory is loaded, the frame a preview gives (the whole
    /// fleet's first frame, drawn before its records are decoded; docs/PERFORMANCE.md).
    private func draw() {
        if preview != nil, state.loaded != nil || state.loadError != nil { preview = nil }
        let shown = preview.flatMap { state.previewing($0) }
        backend.draw(AppView.render(shown ?? state))
        if let loaded = (shown ?? state).loaded {
            benchProbe?.firstFrameDrawn(machines: loaded.machineCount, running: &state.running)
            if shown == nil, let vars = state.vars { benchProbe?.varsFrameDrawn(rows: vars.rows.count) }
            if !fleetShown { fleetShown = true; effects.fleetShown() }
        }
    }

    private static func isInventoryResult(_ e: Event) -> Bool {
        switch e {
        case .inventoryPreview, .inventoryLoaded, .inventoryFailed: return true
        default: return false
        }
    }

    /// Keeps the last preview among `events` if no inventory is loaded yet; whether one came.
    private func takePreview(_ events: [Event]) -> Bool {
        var came = false
        for e in events { if case .inventoryPreview(let p) = e, state.loaded == nil { preview = p; came = true } }
        return came
    }

    /// Whether the state moved on from `before` in anything but the clock, which every wake-up
    /// advances and no frame shows (elapsed times follow `clockSecond`).
    private func changesFrame(from before: AppState) -> Bool {
        var now = state
        now.clock = before.clock
        return now != before
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// -1 (forever) unless something in the state expires.
    private func timeoutMillis() -> Int32 {
        // A running deploy shows elapsed times: wake once a second for them.
        let now = clock()
        let deployTick: Double? = state.deployRunning ? now + 1 : nil
        guard let next = (state.toasts.map(\.expiresAt) + [deployTick].compactMap { $0 }).min() else { return -1 }
        return Int32(max(0, min(60_000, (next - now) * 1000 + 5)))
    }
}
