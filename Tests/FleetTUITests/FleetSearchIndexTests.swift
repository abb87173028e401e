import XCTest
@testable import FleetTUI
@testable import FleetModel

/// The `/` filter's index (`FleetSearchIndex`: names and the distinct rests of the lines) answers
/// every query as the lines themselves did (`FilterMatcher.matches(joined:)` of `FleetSearch.line`).
final class FleetSearchIndexTests: XCTestCase {
    /// Lower-cased fields as `FleetSearch.searchFields` gives them: name, tags, roles, description.
    let fields: [[String]] = [
        ["host-1", "eu web", "web-server", "synthetic web node in eu"],
        ["host-2", "eu web", "web-server", "synthetic web node in eu"],           // same rest as host-1
        ["host-3", "us gpu", "", ""],
        ["cinnabar", "nixos peer", "zerotier-controller zerotier-peer", "münchen, büro"],   // non-ASCII rest
        ["größe", "eu", "", "plain"],                                              // non-ASCII name
        ["e\u{301}clair", "cafe\u{301}", "", "combining marks"],                    // decomposed é
        ["web1", "web", "", ""],
        ["", "", "", ""],
        ["line\nbreak", "eu", "", ""],                                             // a newline in a field
    ]

    let queries = [
        "", "web", "eu web", "!eu", "web !gpu", "1", "host", "t-1", "1\neu", "host-1\neu web", "\neu", "eu\n",
        "ü", "münchen", "büro", "größe", "GRÖSSE", "é", "e\u{301}", "café", "cafe\u{301}", "clair",
        "!ü", "!web !eu", "node in", "in eu", "zerotier-peer", "server\nsynthetic", "break", "k\neu", "!",
        "plain !größe", "o", "x", "-", "eu  web", " web ",
    ]

    func testMatchesAsTheLinesDo() {
        let index = FleetSearchIndex(fields)
        XCTAssertEqual(index.count, fields.count)
        for (i, f) in fields.enumerated() {
            XCTAssertEqual(index.line(i), f.joined(separator: "\n"), "line \(i)")
        }
        for q in queries {
            let m = FilterMatcher(query: q)
            for (i, f) in fields.enumerated() {
                XCTAssertEqual(index.matches(i, m, bytewise: m.termsAreBytewise), m.matches(joined: f.joined(separator: "\n")),
                               "query \(q.debugDescription), row \(i) \(f)")
            }
        }
    }

    /// A term holding a newline can match across two fields of the line: never bytewise per field.
    func testATermAcrossFieldsIsNotBytewise() {
        XCTAssertFalse(FilterMatcher(query: "1\neu").termsAreBytewise)
        XCTAssertFalse(FilterMatcher(query: "größe").termsAreBytewise)
        XCTAssertTrue(FilterMatcher(query: "web !eu").termsAreBytewise)
        let index = FleetSearchIndex(fields)
        let m = FilterMatcher(query: "1\neu")
        XCTAssertTrue(index.matches(0, m, bytewise: m.termsAreBytewise))
        XCTAssertFalse(index.matches(2, m, bytewise: m.termsAreBytewise))
    }

    /// The demo's index: each line is `FleetSearch.line` of its machine, and a filter over the loaded
    /// fleet picks the rows the lines pick.
    func testDemoIndexIsTheLines() throws {
        let inv = try TestFleet.demoInventory()
        let fleet = ResolvedFleet(inv)
        let index = FleetSearch.index(fleet)
        for (i, m) in inv.machineList.enumerated() {
            XCTAssertEqual(index.line(i), FleetSearch.line(m, fleet: fleet), m.name)
        }
        var s = AppState(source: .demo(path: TestFleet.demoDirectory), width: 160, height: 40)
        _ = Reducer.reduce(&s, .inventoryLoaded(ResolvedFleet.firstScreen(inv, rows: 3), revalidating: false))
        let complete = try XCTUnwrap(s.fleet).completed()
        _ = Reducer.reduce(&s, .fleetCompleted(complete, searchIndex: FleetSearch.index(complete)))
        for q in ["darwin", "nixos !peer", "zt", "cinnabar", "!a", "web", "e"] {
            _ = Reducer.reduce(&s, .key(.char("/")))
            for ch in q { _ = Reducer.reduce(&s, .key(.char(ch))) }
            let m = FilterMatcher(query: q)
            let expected = inv.machineList.indices.filter { m.matches(joined: FleetSearch.line(inv.machineList[$0], fleet: complete)) }
            XCTAssertEqual(s.fleetRows, expected, q)
            _ = Reducer.reduce(&s, .key(.escape))
        }
    }
}
