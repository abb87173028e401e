import XCTest
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

    func testTheFirstToastIsDrawnAndASignalEndsTheLoopWithItsNumber() throws {
        let backend = TestBackend(width: 100, height: 30, script: [.key(.char("k")), .signal(SIGTERM)])
        let (loop, effects) = try loop(backend)
        let status = loop.run(initialEffects: [], initialEvents: [.toast("hello", .info)])
        XCTAssertEqual(status, 128 + SIGTERM)
        XCTAssertTrue(backend.stopped && effects.shutDown)
        XCTAssertTrue(backend.screen.text().contains("hello"), "the toast was still up when the signal came")
        XCTAssertEqual(backend.frames.count, 2, "the first frame and the one with the toast; the signal draws nothing")
    }
}
