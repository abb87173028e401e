import Foundation
import XCTest
@testable import FleetTUI

/// A `[keys]` override reaches every overlay: the palette, the tag selector, confirmation dialogs,
/// help and log views move with the user's keys, and the help lists them.
final class OverlayKeysTests: XCTestCase {
    /// The demo with `[keys] move-down = ["n", "ctrl-n", "down"]` and `move-up = ["e", "up"]`
    /// read from a real config file, as a Colemak user might write it.
    func remappedState() throws -> AppState {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("fleet"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "[keys]\nmove-down = [\"n\", \"ctrl-n\", \"down\"]\nmove-up = [\"e\", \"up\"]\n"
            .write(to: dir.appendingPathComponent("fleet/config.toml"), atomically: true, encoding: .utf8)
        let settings = try UISettings.resolve(environment: ["XDG_CONFIG_HOME": dir.path], themeOption: nil)
        var s = try TestFleet.demoState(width: 100, height: 30)
        s.keyMap = settings.keyMap
        return s
    }

    func press(_ s: inout AppState, _ keys: Key...) {
        for k in keys { _ = Reducer.reduce(&s, .key(k)) }
    }

    func testTagSelectorMovesWithTheOverride() throws {
        var s = try remappedState()
        press(&s, .char("@"), .char("n"), .char("n"))
        guard case .tagSelector(var sel)? = s.overlay else { return XCTFail("no tag selector") }
        XCTAssertEqual(sel.cursor.row, 2)
        press(&s, .char("j"), .char("e"))   // j means nothing any more
        guard case .tagSelector(let after)? = s.overlay else { return XCTFail("no tag selector") }
        sel = after
        XCTAssertEqual(sel.cursor.row, 1)
    }

    func testPaletteCompletionsMoveWithTheOverride() throws {
        var s = try remappedState()
        press(&s, .char(":"))
        guard case .palette(let before)? = s.overlay else { return XCTFail("no palette") }
        XCTAssertGreaterThan(before.completions.count, 2)
        press(&s, .ctrl("n"), .ctrl("n"))
        guard case .palette(let p)? = s.overlay else { return XCTFail("no palette") }
        XCTAssertEqual(p.selected, 2)
        // A printable key bound to move-down is still text in the input line.
        press(&s, .char("n"))
        guard case .palette(let typed)? = s.overlay else { return XCTFail("no palette") }
        XCTAssertEqual(typed.input, "n")
    }

    func testConfirmDialogCursorMovesWithTheOverride() throws {
        var s = try remappedState()
        press(&s, .char("d"))
        guard case .confirm(let d)? = s.overlay else { return XCTFail("no confirmation") }
        XCTAssertFalse(d.cancelSelected)
        XCTAssertTrue(AppView.render(s).text().contains("[ deploy ]"))
        press(&s, .char("j"))   // not bound any more: nothing moves
        guard case .confirm(let same)? = s.overlay else { return XCTFail("closed") }
        XCTAssertFalse(same.cancelSelected)
        press(&s, .char("n"))   // the user's move-down, not "no"
        guard case .confirm(let moved)? = s.overlay else { return XCTFail("n closed the dialog") }
        XCTAssertTrue(moved.cancelSelected)
        // Enter takes the choice under the cursor: cancel.
        XCTAssertEqual(Reducer.reduce(&s, .key(.enter)), [])
        XCTAssertNil(s.overlay)
    }

    func testDefaultKeysStillAnswerAConfirmation() throws {
        var s = try TestFleet.demoState(width: 100, height: 30)
        press(&s, .char("d"), .char("j"), .char("k"))   // j and k move the choice there and back
        XCTAssertEqual(Reducer.reduce(&s, .key(.enter)), [.deploy(machines: [s.machines[0].name])])
        press(&s, .char("d"), .char("j"))
        XCTAssertEqual(Reducer.reduce(&s, .key(.char("y"))), [.deploy(machines: [s.machines[0].name])], "y confirms whatever the cursor")
        press(&s, .char("d"), .char("n"))
        XCTAssertNil(s.overlay)
    }

    func testHelpAndLogsScrollWithTheOverrideAndHelpListsIt() throws {
        var s = try remappedState()
        press(&s, .char("?"), .char("n"), .char("n"), .char("e"))
        XCTAssertEqual(s.overlay, .help(scroll: 1))
        let help = Overlays.helpLines(s.keyMap).map { "\($0.0) \($0.1)" }
        XCTAssertTrue(help.contains("n ctrl-n down move the cursor / scroll down"), help.joined(separator: "\n"))
        XCTAssertTrue(help.contains("e up move the cursor / scroll up"), help.joined(separator: "\n"))
        // Every key label fits the help's 16-column key field (it used to cut "pgdn ctrl-f pgu…").
        for keyMap in [s.keyMap, KeyMap.default] {
            for (keys, text, header) in Overlays.helpLines(keyMap) where !header && !text.isEmpty {
                XCTAssertLessThanOrEqual(DisplayWidth.of(keys), 16, "\(keys) — \(text)")
            }
        }
        // A screen note is whole sentences: never broken where the source text happened to end a line.
        let notes = Overlays.helpLines(KeyMap.default).filter { !$0.2 && $0.1.isEmpty }.map(\.0)
        XCTAssertTrue(notes.joined(separator: " ").split(separator: " ").joined(separator: " ").contains("overlay IP and the vars it was read from"), notes.joined(separator: "\n"))
        XCTAssertTrue(AppView.render(s).text().contains("n/e scroll"))
        s.overlay = .text(title: "log", lines: (0..<100).map(String.init), scroll: 0)
        press(&s, .char("n"), .char("n"))
        XCTAssertEqual(s.overlay, .text(title: "log", lines: (0..<100).map(String.init), scroll: 2))
    }
}
