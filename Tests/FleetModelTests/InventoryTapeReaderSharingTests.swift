import Collections
import XCTest
@testable import FleetModel

/// The inventory reader shares a machine's tag list and description with every machine whose bytes
/// are the same (`ByteSpanTable`). These tests check that the shared values are exactly what a
/// machine-by-machine reading of the same document gives, computed here from the tree of the old
/// parser (`LegacyJSONParser`), on documents built to make a wrong sharing visible: the same tag
/// bytes with other classes or other static tags, escapes, repeated and unsorted names.
final class InventoryTapeReaderSharingTests: XCTestCase {
    /// clan's evaluated tags of one machine: its own list without repeats, the tags of `tags.<t>`
    /// listing it (document order), then `all` and its class.
    private func expectedTags(_ name: String, _ machine: JSONValue, _ root: JSONValue) -> [String] {
        var out: [String] = []
        for t in machine["tags"]?.arrayValue ?? [] { if let s = t.stringValue, !out.contains(s) { out.append(s) } }
        for (tag, members) in root["tags"]?.objectValue ?? [:] where members.arrayValue?.contains(.string(name)) == true {
            if !out.contains(tag) { out.append(tag) }
        }
        let cls = machine["machineClass"]?.stringValue ?? "nixos"
        for t in ["all", cls] where !out.contains(t) { out.append(t) }
        return out
    }

    private func checkAgainstTree(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let inv = try InventoryDecoder(file: "x.json").decode(text)
        let root = try LegacyJSONParser.parse(text)
        let machines = root["machines"]?.objectValue ?? [:]
        XCTAssertEqual(Array(inv.machines.keys), machines.keys.sorted(), "sorted by name, repeated names once", file: file, line: line)
        for (name, value) in machines {
            let m = try XCTUnwrap(inv.machines[name], name, file: file, line: line)
            XCTAssertEqual(m.tags, expectedTags(name, value, root), name, file: file, line: line)
            XCTAssertEqual(m.description, value["description"]?.stringValue, name, file: file, line: line)
            XCTAssertEqual(m.name, value["name"]?.stringValue ?? name, name, file: file, line: line)
            XCTAssertEqual(m.machineClass.rawValue, value["machineClass"]?.stringValue ?? "nixos", name, file: file, line: line)
            XCTAssertEqual(m.installedAt, value["installedAt"]?.intValue, name, file: file, line: line)
        }
    }

    func testSameTagBytesWithOtherClassesAndStaticTags() throws {
        try checkAgainstTree(#"""
        {"machines": {
          "a": {"machineClass": "nixos", "tags": ["web", "db"], "description": "a long description shared by many"},
          "b": {"machineClass": "darwin", "tags": ["web", "db"], "description": "a long description shared by many"},
          "c": {"machineClass": "nixos", "tags": ["web", "db"], "description": "a long description shared by man\u0079"},
          "d": {"machineClass": "nixos", "tags": ["web", "db"]},
          "e": {"machineClass": "nixos", "tags": ["w\u0065b", "db", "web"], "installedAt": -12},
          "f": {"tags": [], "installedAt": 1700000000},
          "g": {"tags": null, "name": "g"},
          "h": {"name": "other-name"},
          "i": {"machineClass": "darwin"},
          "j": {"tags": ["web", "db"], "name": "\u006a"}
        },
        "tags": {"backup": ["d", "f", "i"], "web": ["a"], "db": ["j", "h"]}}
        """#)
    }

    func testUnsortedAndRepeatedNames() throws {
        try checkAgainstTree(#"""
        {"machines": {"zeta": {"tags": ["x"]}, "alpha": {"tags": ["x"]}, "mid": {"tags": ["y"], "description": "first"},
                      "alpha": {"tags": ["y"], "machineClass": "darwin"}}}
        """#)
        // The last one wins, even where the first one would not have decoded.
        let inv = try InventoryDecoder(file: "x.json").decode(#"{"machines": {"a": {"tags": 3}, "a": {"tags": ["t"]}}}"#)
        XCTAssertEqual(inv.machines["a"]?.tags, ["t", "all", "nixos"])
    }

    func testMoreStaticTagsThanBits() throws {
        // 70 tags listing machines: past the 63 tags kept as bits per machine.
        var tags: [String] = []
        for k in 0..<70 { tags.append(#""t\#(k)": [\#(k % 3 == 0 ? #""a", "b""# : k % 3 == 1 ? #""b""# : "")]"#) }
        try checkAgainstTree(#"{"machines": {"a": {"tags": ["t1"]}, "b": {"tags": ["t1"]}, "c": {"tags": ["t1"]}}, "tags": {\#(tags.joined(separator: ","))}}"#)
    }

    func testRandomFleets() throws {
        var rng = SystemRandomNumberGenerator()
        let pool = ["web", "db", "gpu", "w\\u0065b", "eu", "all", "nixos", "darwin"]
        for _ in 0..<200 {
            let n = Int.random(in: 1...30, using: &rng)
            var machines: [String] = []
            for i in 0..<n {
                var fields: [String] = []
                if Bool.random(using: &rng) { fields.append(#""machineClass": "\#(Bool.random(using: &rng) ? "nixos" : "darwin")""#) }
                if Int.random(in: 0..<4, using: &rng) > 0 {
                    let k = Int.random(in: 0...3, using: &rng)
                    fields.append(#""tags": [\#((0..<k).map { _ in "\"\(pool.randomElement(using: &rng)!)\"" }.joined(separator: ", "))]"#)
                }
                if Bool.random(using: &rng) { fields.append(#""description": "node of kind \#(Int.random(in: 0..<3, using: &rng)) in a fleet""#) }
                let name = "m\(Int.random(in: 0..<(i + 5), using: &rng))"  // repeats and any order
                machines.append(#""\#(name)": {\#(fields.joined(separator: ", "))}"#)
            }
            var staticTags: [String] = []
            for t in ["backup", "web", "edge"] where Bool.random(using: &rng) {
                let members = (0..<Int.random(in: 0...4, using: &rng)).map { _ in "\"m\(Int.random(in: 0..<n + 5, using: &rng))\"" }
                staticTags.append(#""\#(t)": [\#(members.joined(separator: ", "))]"#)
            }
            try checkAgainstTree(#"{"machines": {\#(machines.joined(separator: ", "))}, "tags": {\#(staticTags.joined(separator: ", "))}}"#)
        }
    }
}
