import XCTest
@testable import FleetTUI

/// The `/` filter's substring test: the bytewise ASCII path (make bench's fix) must agree with
/// Foundation's `contains`, which still handles non-ASCII text.
final class FilterMatcherTests: XCTestCase {
    func testASCIISubstrings() {
        XCTAssertTrue(FilterMatcher.contains("host-00042\neu web prod", "web"))
        XCTAssertTrue(FilterMatcher.contains("host-00042\neu web prod", "host-00042"))
        XCTAssertTrue(FilterMatcher.contains("abc", "abc"))
        XCTAssertFalse(FilterMatcher.contains("abc", "abcd"))
        XCTAssertFalse(FilterMatcher.contains("", "a"))
        XCTAssertFalse(FilterMatcher.contains("web\nprod", "web prod"), "fields are joined by newlines; a term never spans two")
    }

    func testNonASCIIFallsBackToFoundation() {
        for (h, n) in [("café\nbar", "café"), ("café", "cafe"), ("grüße", "ß"), ("naïve", "ive"), ("tokyo-東京", "東")] {
            XCTAssertEqual(FilterMatcher.contains(h, n), h.contains(n), "\(h) / \(n)")
        }
    }

    func testMatchesJoined() {
        let fields = "web1\nweb prod eu\nnginx\nfront door"
        XCTAssertTrue(FilterMatcher(query: "WEB prod").matches(joined: fields))
        XCTAssertFalse(FilterMatcher(query: "web !nginx").matches(joined: fields))
        XCTAssertTrue(FilterMatcher(query: "!db").matches(joined: fields))
        XCTAssertFalse(FilterMatcher(query: "staging").matches(joined: fields))
    }
}
