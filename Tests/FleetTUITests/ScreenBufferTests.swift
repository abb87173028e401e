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
