import XCTest
import Foundation
import FleetModel
@testable import FleetTUI
#if canImport(Glibc)
import Glibc
#endif

/// The event loop on the in-memory `TestBackend`: redraws, ticks, resizes and signals, with the
/// real reducer, views and event queue, and the effects recorded instead of performed.
final class EventLoopTests: XCTestCase {
    /// Records effects; answers the theme list through the queue, as `EffectRunner` does.
    final class RecordingEffects: EffectPerforming {
        let queue: EventQueue
        var performed: [Effect] = []
        var shutDown = false
        init(queue: EventQueue) { self.queue = queue }
        func perform(_ effect: Effect) {
            performed.append(effect)
            if effect == .loadThemeNames { queue.post(.themeNamesLoaded(["default", "light"])) }
        }
        func shutdown() { shutDown = true }
    }

    private func loop(_ backend: TestBackend) throws -> (EventLoop, RecordingEffects) {
        let state = try TestFleet.demoState(width: 80, height: 24)
        let queue = EventQueue()
        let effects = RecordingEffects(queue: queue)
        return (EventLoop(state: state, backend: backend, queue: queue, effects: effects, clock: { backend.now }), effects)
    }

    func testKeysResizeAndAnExpiringToastRedrawOnlyWhenTheFrameChanges() throws {
        let backend = TestBackend(width: 100, height: 30, script: [
            .key(.char("j")), .key(.char("j")),
            .key(.char("x")),                     // bound on the Deploy screen only: nothing changes
            .resize(width: 70, height: 20),
        ])
        let (loop, effects) = try loop(backend)
        let status = loop.run(initialEffects: [.loadThemeNames], initialEvents: [.toast("hello", .info)])

        // Script used up, the toast gone: the terminal hangs up, which ends the UI like SIGHUP.
        XCTAssertEqual(status, 128 + SIGHUP)
        XCTAssertTrue(backend.started && backend.stopped && effects.shutDown)
        XCTAssertEqual(effects.performed, [.loadThemeNames])
        // The posted result reached the state through the queue's wake-up pipe.
        XCTAssertEqual(loop.state.themeNames, ["default", "light"])
        XCTAssertEqual(loop.state.cursor(.fleet).row, 2)
        // Frames: first, first key (+ posted events), second key, resize, toast expired; the
        // unbound key drew nothing.
        XCTAssertEqual(backend.frames.count, 5, "\(backend.frames)")
        XCTAssertEqual(backend.frames[0], Array(0..<30))
        XCTAssertEqual(backend.frames[2].count, 3, "one row down repaints the two rows involved and the status line")
        XCTAssertEqual(backend.frames[2].last, 29)
        XCTAssertEqual(backend.frames[3], Array(0..<20), "a resize repaints everything")
        // The loop slept until the toast expired (4 s on the test clock), then for good.
        XCTAssertEqual(backend.timeouts.first, -1)
        XCTAssertEqual(backend.timeouts.last, -1)
        XCTAssertTrue(backend.timeouts.contains(Int32(Reducer.toastSeconds * 1000) + 5), "\(backend.timeouts)")
        XCTAssertTrue(loop.state.toasts.isEmpty)
        let screen = backend.screen.text()
        XCTAssertEqual(backend.screen.width, 70)
        XCTAssertFalse(screen.contains("hello"), screen)
        let cursorLine = screen.split(separator: "\n").first { $0.contains("▶") }
        XCTAssertTrue(cursorLine?.contains(loop.state.machines[2].name) ?? false, screen)
    }

    /// The initial effects (the inventory load) start before the terminal is set up, so the load
    /// overlaps the curses start-up and the first empty frame (docs/PERFORMANCE.md, sixth session).
    func testInitialEffectsStartBeforeTheTerminal() throws {
        final class Effects: EffectPerforming {
            let backend: TestBackend
            var startedAtPerform: [Bool] = []
            init(_ backend: TestBackend) { self.backend = backend }
            func perform(_ effect: Effect) { startedAtPerform.append(backend.started) }
            func shutdown() {}
        }
        let backend = TestBackend(width: 100, height: 30, script: [.signal(SIGTERM)])
        let effects = Effects(backend)
        let loop = EventLoop(state: try TestFleet.demoState(width: 80, height: 24), backend: backend, queue: EventQueue(),
                             effects: effects, clock: { backend.now })
        XCTAssertEqual(loop.run(initialEffects: [.loadThemeNames, .loadHistory(allFleets: false)]), 128 + SIGTERM)
        XCTAssertEqual(effects.startedAtPerform, [false, false])
        XCTAssertTrue(backend.started && backend.stopped)
    }

    /// A directory or demo inventory is read on a thread of its own: the event loop blocks one
    /// thread of Swift's concurrency pool, and a load queued there behind other tasks (the history
    /// database, the theme names) made the first frame wait for them. Here every pool thread is
    /// busy; the inventory must still arrive.
    func testTheInventoryLoadDoesNotWaitForTheConcurrencyPool() throws {
        let release = DispatchSemaphore(value: 0)
        let blockers = 64   // above any pool width (libdispatch oversubscribes a few threads per core)
        let started = DispatchSemaphore(value: 0)
        for _ in 0..<blockers {
            Task.detached { started.signal(); release.wait() }
        }
        defer { for _ in 0..<blockers { release.signal() } }
        XCTAssertEqual(started.wait(timeout: .now() + 10), .success, "the pool runs at least one task")
        let queue = EventQueue()
        let runner = EffectRunner(queue: queue, source: .demo(path: TestFleet.demoDirectory))
        runner.perform(.loadInventory(.demo(path: TestFleet.demoDirectory)))
        let deadline = Date().addingTimeInterval(20)
        var loaded: ResolvedFleet?
        while loaded == nil && Date() < deadline {
            for e in queue.drain() { if case .inventoryLoaded(let f, _) = e { loaded = f } }
            if loaded == nil { usleep(10_000) }
        }
        XCTAssertEqual(loaded?.inventory.machines.count, 8, "no inventory while the pool was busy")
    }

    func testTheFirstToastIsDrawnAndASignalEndsTheLoopWithItsNumber() throws {
        let backend = TestBackend(width: 100, height: 30, script: [.key(.char("k")), .signal(SIGTERM)])
        let (loop, effects) = try loop(backend)
        let status = loop.run(initialEffects: [], initialEvents: [.toast("hello", .info)])
        XCTAssertEqual(status, 128 + SIGTERM)
        XCTAssertTrue(backend.stopped && effects.shutDown)
        XCTAssertTrue(backend.screen.text().contains("hello"), "the toast was still up when the signal came")
        XCTAssertEqual(backend.frames.count, 2, "the first frame and the one with the toast; the signal draws nothing")
    }

    /// A big cached fleet's first frame is drawn from its preview (the first rows, decoded before the
    /// others): byte for byte the frame the whole fleet gives, which then repaints nothing. The
    /// preview never enters the state, and a load error after it shows the error.
    func testAPreviewDrawsTheFrameOfTheWholeFleet() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-preview-\(UUID().uuidString.prefix(8))").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: tmp) }
        let dir = tmp + "/fleet"
        try SyntheticFleet(machines: 120, seed: 3).write(to: dir)
        var cache = ResolvedFleetCache(directory: tmp + "/cache")
        cache.settleSeconds = 0
        _ = try cache.loadFleet(source: dir).store?()
        var loader = InventoryLoader(source: .directory(path: dir), cache: nil, snapshots: cache)
        loader.deferSnapshotStore = true
        var previews: [FleetPreview] = []
        let snap = try XCTUnwrap(try loader.localSnapshot(previewRows: 40) { previews.append($0) })
        XCTAssertEqual(previews.count, 1, "a hit bigger than the preview gives one")
        let preview = try XCTUnwrap(previews.first)
        let whole = ResolvedFleet.firstScreen(snap.inventory, rows: 40, cached: snap.cached)

        for (width, height, wide) in [(160, 30, false), (160, 30, true), (100, 43, false), (60, 15, false)] {
            var state = AppState(source: .directory(path: dir), width: width, height: height)
            state.fleetWide = wide
            let shown = try XCTUnwrap(state.previewing(preview), "\(width)x\(height)")
            var full = state
            _ = Reducer.reduce(&full, .inventoryLoaded(whole, revalidating: false))
            XCTAssertEqual(AppView.render(shown), AppView.render(full), "\(width)x\(height) wide \(wide)")
            var cold = state
            _ = Reducer.reduce(&cold, .inventoryLoaded(ResolvedFleet(try DirectoryInventoryLoader(directory: dir).load()), revalidating: false))
            XCTAssertEqual(AppView.render(shown), AppView.render(cold), "\(width)x\(height) wide \(wide), without a cache")
            let text = AppView.render(shown).text()
            XCTAssertTrue(text.contains("120 machines"), text)
            if width == 160 { XCTAssertTrue(text.contains("1/120"), text) }
        }
        // Anything the preview does not hold: no preview frame.
        let plain = AppState(source: .directory(path: dir), width: 160, height: 30)
        XCTAssertNil(AppState(source: .directory(path: dir), width: 160, height: 44).previewing(preview), "40 table rows: more than the preview's")
        var other = plain
        other.tab = .services
        XCTAssertNil(other.previewing(preview))
        other = plain
        other.filters[.fleet] = "web"
        XCTAssertNil(other.previewing(preview))
        other = plain
        other.fleetSort = FleetSort(column: .name, descending: true)
        XCTAssertNil(other.previewing(preview))
        var loaded = plain
        _ = Reducer.reduce(&loaded, .inventoryLoaded(whole, revalidating: false))
        XCTAssertNil(loaded.previewing(preview))

        // Through the loop: the preview (here before the terminal is ready) is the first frame, no
        // "Loading" frame before it; then the whole fleet changes no cell.
        final class PreviewEffects: EffectPerforming {
            let queue: EventQueue
            let preview: FleetPreview
            var performed: [Effect] = []
            /// How many frames had been drawn when `fleetShown` came (once).
            var shownAfterFrames: [Int] = []
            var frames: () -> Int = { 0 }
            init(_ queue: EventQueue, _ preview: FleetPreview) { self.queue = queue; self.preview = preview }
            func fleetShown() { shownAfterFrames.append(frames()) }
            func perform(_ effect: Effect) {
                performed.append(effect)
                if case .loadInventory = effect { queue.post(.inventoryPreview(preview)) }
            }
            func shutdown() {}
        }
        for then in [Event.inventoryLoaded(whole, revalidating: false), .inventoryFailed("broken")] {
            let backend = TestBackend(width: 160, height: 30, script: [])
            let queue = EventQueue()
            let effects = PreviewEffects(queue, preview)
            effects.frames = { backend.frames.count }
            var posted = false
            backend.afterDraw = { screen in
                if !posted, screen.text().contains("120 machines") { posted = true; queue.post(then) }
            }
            let loop = EventLoop(state: plain, backend: backend, queue: queue, effects: effects, clock: { backend.now })
            XCTAssertEqual(loop.run(initialEffects: [.loadInventory(plain.source)]), 128 + SIGHUP)
            XCTAssertTrue(posted, "the preview was drawn")
            XCTAssertEqual(effects.shownAfterFrames, [1], "told once, when the preview's frame (the first) was drawn")
            if case .inventoryLoaded = then {
                XCTAssertEqual(backend.frames.count, 2, "\(backend.frames)")
                XCTAssertEqual(backend.frames.last, [], "the whole fleet's frame is the preview's")
                var full = plain
                _ = Reducer.reduce(&full, .inventoryLoaded(whole, revalidating: false))
                XCTAssertEqual(backend.screen, AppView.render(full))
                XCTAssertEqual(loop.state.loaded?.machineCount, 120)
                XCTAssertTrue(effects.performed.contains { if case .completeFleet = $0 { return true } else { return false } })
            } else {
                XCTAssertNil(loop.state.loaded)
                XCTAssertTrue(backend.screen.text().contains("Cannot load the fleet"), backend.screen.text())
            }
        }
    }

    /// An inventory result queued when the terminal is ready (a cached fleet's preview, the demo)
    /// is in the first frame: no "Loading inventory…" frame is drawn just before it. Without one,
    /// the loading frame comes first, as before.
    func testAFleetQueuedBeforeTheTerminalIsTheFirstFrame() throws {
        final class LoadingEffects: EffectPerforming {
            let queue: EventQueue
            let fleet: ResolvedFleet?
            var performed: [Effect] = []
            init(_ queue: EventQueue, _ fleet: ResolvedFleet?) { self.queue = queue; self.fleet = fleet }
            func perform(_ effect: Effect) {
                performed.append(effect)
                if case .loadInventory = effect, let fleet { queue.post(.inventoryLoaded(fleet, revalidating: false)) }
            }
            func shutdown() {}
        }
        let source = InventorySource.demo(path: TestFleet.demoDirectory)
        for queued in [true, false] {
            let backend = TestBackend(width: 100, height: 30, script: [])
            var firstScreen: String?
            backend.afterDraw = { if firstScreen == nil { firstScreen = $0.text() } }
            let queue = EventQueue()
            let effects = LoadingEffects(queue, queued ? ResolvedFleet(try TestFleet.demoInventory()) : nil)
            let loop = EventLoop(state: AppState(source: source, width: 100, height: 30), backend: backend, queue: queue,
                                 effects: effects, clock: { backend.now })
            XCTAssertEqual(loop.run(initialEffects: [.loadInventory(source)], initialEvents: [.toast("hello", .info)]), 128 + SIGHUP)
            let first = try XCTUnwrap(firstScreen)
            if queued {
                XCTAssertTrue(first.contains("8 machines") && first.contains("hello"), first)
                XCTAssertFalse(first.contains("Loading inventory"), first)
                XCTAssertTrue(effects.performed.contains { if case .completeFleet = $0 { return true } else { return false } },
                              "the effects of what was reduced before the first frame run after it")
            } else {
                XCTAssertTrue(first.contains("Loading inventory"), first)
                XCTAssertFalse(first.contains("hello"), "the toast comes with the next frame, as before")
            }
        }
    }

    /// The gate a cached fleet's load waits at between its preview and the decode of the rest:
    /// opened by the first frame showing the fleet (`EffectRunner.fleetShown`), and never waited at
    /// longer than the timeout.
    func testFirstFrameGate() {
        let gate = FirstFrameGate()
        var t0 = Date()
        gate.wait(seconds: 0.2)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(t0), 0.19, "closed: waits for the timeout")
        t0 = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { gate.open() }
        gate.wait(seconds: 10)
        XCTAssertLessThan(Date().timeIntervalSince(t0), 5, "opened meanwhile: released")
        XCTAssertTrue(gate.isOpen)
        t0 = Date()
        gate.wait(seconds: 10)
        gate.wait(seconds: 10)
        XCTAssertLessThan(Date().timeIntervalSince(t0), 1, "open: no wait")
        let runner = EffectRunner(queue: EventQueue(), source: .demo(path: TestFleet.demoDirectory))
        XCTAssertFalse(runner.firstFleetFrame.isOpen)
        runner.fleetShown()
        XCTAssertTrue(runner.firstFleetFrame.isOpen)
    }
}
