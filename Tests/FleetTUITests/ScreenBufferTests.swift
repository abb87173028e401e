import XCTest
@testable import FleetTUI

final class ScreenBufferTests: XCTestCase {
    func testWideCharactersTakeTwoCells() {
        var b = ScreenBuffer(width: 6, height: 1)
        let end = b.put("a界b", x: 0, y: 0)
        XCTAssertEqual(end, 4)
        XCTAssertEqual(b.text(), "a界b  ")
    }
}

/// Remote output (deploy logs, generator output) is drawn through the buffer; terminal control
/// sequences in it must never reach the terminal.
final class ControlSequenceTests: XCTestCase {
    func testControlCharactersAreNotDrawn() {
        var b = ScreenBuffer(width: 40, height: 1)
        b.put("ok\u{1b}[2J\u{1b}]0;pwned\u{07}\u{9b}31m\u{0d}\u{08}end", x: 0, y: 0)
        let scalars = b.cells.flatMap { $0.grapheme.unicodeScalars }
        XCTAssertFalse(scalars.contains { $0.properties.generalCategory == .control }, b.text())
        XCTAssertTrue(b.text().hasPrefix("ok[2J]0;pwned31mend"), b.text())
    }
}
