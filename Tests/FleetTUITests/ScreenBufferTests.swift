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

/// The ASCII fast paths of `DisplayWidth` and `ScreenBuffer.put` (bytes instead of `Character`s)
/// must give exactly what the per-character path gives.
final class ASCIIFastPathTests: XCTestCase {
    /// The per-character algorithms, as they were before the fast paths.
    private func referenceWidth(_ s: String) -> Int { s.reduce(0) { $0 + DisplayWidth.of($1) } }
    private func referenceTruncate(_ s: String, to width: Int, ellipsis: String) -> String {
        if width <= 0 { return "" }
        if referenceWidth(s) <= width { return s }
        var out = "", used = 0
        for c in s {
            let w = DisplayWidth.of(c)
            if used + w > width - referenceWidth(ellipsis) { break }
            out.append(c)
            used += w
        }
        return out + ellipsis
    }
    private func referencePut(_ text: String, x: Int, clip: Rect, width: Int) -> (String, Int) {
        var b = ScreenBuffer(width: width, height: 1)
        var col = x
        for ch in text {
            let w = DisplayWidth.of(ch)
            if w == 0 { continue }
            if col + w > min(clip.maxX, width) { break }
            if col >= max(clip.x, 0) { b[col, 0] = Cell(ch, style: .plain) }
            col += w
        }
        return (b.text(), col)
    }

    let samples = ["", "a", "web-01", "tab\there", "cr\r\nlf", "\u{1b}[2Jx", "del\u{7f}", "0123456789abcdefghij",
                   "   ", "a\u{0}b", "zerotier/controller,backup"]

    func testWidthAndTruncateMatchTheCharacterPath() {
        for s in samples {
            XCTAssertEqual(DisplayWidth.of(s), referenceWidth(s), s.debugDescription)
            for w in 0...22 {
                for e in ["…", "~", ""] {
                    XCTAssertEqual(DisplayWidth.truncate(s, to: w, ellipsis: e), referenceTruncate(s, to: w, ellipsis: e),
                                   "\(s.debugDescription) to \(w) with \(e.debugDescription)")
                }
            }
        }
    }

    func testPutMatchesTheCharacterPath() {
        for s in samples {
            for x in [-3, 0, 2, 9] {
                for clip in [Rect(x: 0, y: 0, width: 12, height: 1), Rect(x: 3, y: 0, width: 5, height: 1)] {
                    var b = ScreenBuffer(width: 12, height: 1)
                    let end = b.put(s, x: x, y: 0, clip: clip)
                    let (text, col) = referencePut(s, x: x, clip: clip, width: 12)
                    XCTAssertEqual(b.text(), text, "\(s.debugDescription) at \(x) in \(clip)")
                    XCTAssertEqual(end, col, "\(s.debugDescription) at \(x) in \(clip)")
                }
            }
        }
    }

    func testNonASCIIKeepsTheCharacterPath() {
        XCTAssertNil(DisplayWidth.asciiWidth("café"))
        XCTAssertEqual(DisplayWidth.of("e\u{301}x"), 2)   // a combining mark joins the ASCII letter before it
        XCTAssertEqual(DisplayWidth.truncate("界界界", to: 4), "界…")
    }
}
