import Foundation
import SnapshotTesting
import XCTest
@testable import FleetTUI

/// Snapshots of the interaction layer: help, palette, filter, tag selector, confirmation,
/// themes, NO_COLOR and the ASCII fallback.
final class InteractionSnapshotTests: XCTestCase {
    func state(_ w: Int = 100, _ h: Int = 30) throws -> AppState { try TestFleet.demoState(width: w, height: h) }

    func press(_ s: inout AppState, _ keys: Key...) {
        for k in keys { _ = Reducer.reduce(&s, .key(k)) }
    }

    func type(_ s: inout AppState, _ text: String) {
        for c in text { _ = Reducer.reduce(&s, .key(.char(c))) }
    }

    func testHelpOverlay() throws {
        var s = try state(100, 40)
        press(&s, .char("?"))
        assertSnapshot(of: AppView.render(s).text(), as: .lines)
    }

    func testHelpListsEveryBinding() throws {
        // Generated from the key map: every action with a key appears with its summary.
        // Long summaries wrap: join the pieces back before looking for them.
        let text = Overlays.helpLines(.default).map(\.1).joined(separator: " ")
        for b in KeyMap.default.bindings { XCTAssertTrue(text.contains(b.action.summary), "\(b.action)") }
    }

    func testPaletteWithCompletions() throws {
        var s = try state()
        press(&s, .char(":"))
        type(&s, "deploy @pe")
        assertSnapshot(of: AppView.render(s).text(), as: .lines)
    }

    func testFilterWithHighlights() throws {
        var s = try state(140)   // wide enough for TAGS, where "peer" matches, to show it
        press(&s, .char("/"))
        type(&s, "peer")
        let buf = AppView.render(s)
        assertSnapshot(of: buf.text(), as: .lines, named: "text")
        assertSnapshot(of: buf.styleDump(), as: .lines, named: "styles")
        // The highlighted cells spell the match.
        var highlighted = ""
        for y in 0..<buf.height { for x in 0..<buf.width where buf[x, y].style == s.theme.match { highlighted.append(buf[x, y].grapheme) } }
        XCTAssertTrue(highlighted.hasPrefix("peer"), highlighted)
        XCTAssertEqual(s.fleetRows.count, 3)
    }

    func testFilterNegation() throws {
        var s = try state()
        press(&s, .char("/"))
        type(&s, "!darwin")
        XCTAssertEqual(s.fleetRows.map { s.machines[$0].name }, ["cinnabar", "electrum", "galena", "scheelite"])
        press(&s, .escape)
        XCTAssertEqual(s.fleetRows.count, 8)
    }

    func testTagSelector() throws {
        var s = try state()
        press(&s, .char("@"))
        assertSnapshot(of: AppView.render(s).text(), as: .lines)
    }

    func testTagSelectorMarksMachines() throws {
        var s = try state()
        press(&s, .char("@"))
        guard case .tagSelector(let sel)? = s.overlay, let gpu = sel.tags.firstIndex(where: { $0.name == "gpu" }),
              let hetzner = sel.tags.firstIndex(where: { $0.name == "hetzner" }) else { return XCTFail("no tag selector") }
        XCTAssertLessThan(gpu, hetzner)
        for _ in 0..<gpu { press(&s, .down) }
        press(&s, .char(" "))
        for _ in gpu..<hetzner { press(&s, .down) }
        press(&s, .char(" "), .enter)
        XCTAssertEqual(s.marks, ["scheelite", "cinnabar", "electrum"])
        XCTAssertNil(s.overlay)
    }

    func testConfirmDialog() throws {
        var s = try state()
        press(&s, .char(" "), .char(" "), .char("d"))
        assertSnapshot(of: AppView.render(s).text(), as: .lines)
        XCTAssertEqual(Reducer.reduce(&s, .key(.char("y"))), [.deploy(machines: ["argentum", "blackphos"])])
    }

    func testEachTheme() throws {
        for name in ["default", "light", "high-contrast"] {
            var s = try state(80, 24)
            let (theme, warning) = ThemeCatalog.load(name, environment: [:])
            XCTAssertNil(warning, name)
            s.theme = theme
            press(&s, .char(" "))
            assertSnapshot(of: AppView.render(s).styleDump(), as: .lines, named: name)
        }
    }

    func testNoColor() throws {
        let settings = try UISettings.resolve(environment: ["NO_COLOR": "1", "HOME": "/nonexistent"], themeOption: nil)
        var s = try state(80, 24)
        s.theme = settings.theme
        XCTAssertEqual(settings.theme, .monochrome)
        XCTAssertTrue(settings.noColor)
        let dump = AppView.render(s).styleDump()
        XCTAssertFalse(dump.contains("ansi") || dump.contains("idx"), "no colours under NO_COLOR")
        assertSnapshot(of: dump, as: .lines)
    }

    func testASCIIFallback() throws {
        let settings = try UISettings.resolve(environment: ["LANG": "C", "HOME": "/nonexistent"], themeOption: nil)
        XCTAssertEqual(settings.glyphs, .ascii)
        var s = try state(80, 24)
        s.glyphs = settings.glyphs
        press(&s, .char(" "), .char("?"))
        let text = AppView.render(s).text()
        XCTAssertTrue(text.unicodeScalars.allSatisfy { $0.isASCII }, text)
        assertSnapshot(of: text, as: .lines)
    }

    func testBrokenThemeFallsBackWithError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-theme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("fleet/themes"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("fleet/themes/broken.toml")
        try "name = \"broken\"\n[styles]\nheader = { fg = \"red\" }\ncursor = { fg = \"purplish\" }\n".write(to: file, atomically: true, encoding: .utf8)
        let (theme, warning) = ThemeCatalog.load("broken", environment: ["XDG_CONFIG_HOME": dir.path])
        XCTAssertEqual(theme, .defaultDark)
        let w = try XCTUnwrap(warning)
        XCTAssertTrue(w.contains(file.path + ":4: styles.cursor"), w)
        XCTAssertTrue(w.contains("fg: expected a colour"), w)
    }

    func testConfigErrorNamesFileKeyLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("fleet"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("fleet/config.toml")
        try "theme = \"light\"\njobs = 0\n".write(to: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try UISettings.resolve(environment: ["XDG_CONFIG_HOME": dir.path], themeOption: nil)) { e in
            XCTAssertTrue("\(e)".contains(file.path + ":2: jobs: expected an integer"), "\(e)")
        }
        try "[keys]\ndeploy = \"D\"\nfrobnicate = \"x\"\n".write(to: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try UISettings.resolve(environment: ["XDG_CONFIG_HOME": dir.path], themeOption: nil)) { e in
            XCTAssertTrue("\(e)".contains(file.path + ":3: keys.frobnicate: unknown action"), "\(e)")
        }
        try "[keys]\ndeploy = [\"D\", \"ctrl-d\"]\n".write(to: file, atomically: true, encoding: .utf8)
        let s = try UISettings.resolve(environment: ["XDG_CONFIG_HOME": dir.path], themeOption: nil)
        XCTAssertEqual(s.keyMap.action(for: .char("D"), on: .fleet), .deploy)
        XCTAssertEqual(s.keyMap.action(for: .ctrl("d"), on: .fleet), .deploy)
        XCTAssertNil(s.keyMap.action(for: .char("d"), on: .fleet))
    }
}
