import XCTest
@testable import FleetModel

final class JSONParserTests: XCTestCase {
    func testKeepsKeyOrder() throws {
        let v = try JSONParser.parse(#"{"b":1,"a":2,"c":{"z":null,"y":true}}"#)
        XCTAssertEqual(Array(v.objectValue!.keys), ["b", "a", "c"])
        XCTAssertEqual(Array(v["c"]!.objectValue!.keys), ["z", "y"])
    }
}
