import Foundation
import XCTest
@testable import FleetModel
import OrderedCollections

/// The writer must spell JSON exactly as the tools we mirror do: clan's `json.dump(indent=2)` is
/// checked against the real Python.
final class JSONWriterTests: XCTestCase {
    let doc = #"{"meta":{"name":"t\u00e9st \"q\" \\ \n\t","n":1763061719,"f":1500.0,"emoji":"🚀","del":"\u007f","lt":"<&>"},"machines":{"b":{"tags":["x","y"]},"a":{"tags":[],"o":{}}},"nul":null,"t":true}"#

    func python(_ code: String, input: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", code]
        let inPipe = Pipe(), outPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        try p.run()
        inPipe.fileHandleForWriting.write(Data(input.utf8))
        try inPipe.fileHandleForWriting.close()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "python3 failed")
        return String(decoding: out, as: UTF8.self)
    }

    func testPythonIndent2MatchesJsonDump() throws {
        let v = try JSONParser.parse(doc)
        let ours = JSONWriter.python2.string(v)
        let theirs = try python("import json,sys; sys.stdout.write(json.dumps(json.loads(sys.stdin.read()), indent=2))", input: doc)
        XCTAssertEqual(ours, theirs)
    }

    /// `appendObjectArray` (the streamed `fleet list --json`) writes what `bytes` writes for the tree.
    func testStreamedObjectArrayMatchesTheTree() throws {
        let objects: [[(key: String, value: JSONValue)]] = [
            [("name", .string("a\"b\u{1F680}")), ("z", .null), ("tags", .array([.string("x"), .string("é")])), ("o", .object([:]))],
            [],
            [("b", .number("1")), ("a", .array([])), ("c", .object(["k": .bool(true)]))],
        ]
        let writers = [JSONWriter(indent: "  "), .python2, .compact, JSONWriter(indent: nil, sortKeys: true),
                       JSONWriter(indent: "  ", sortKeys: true, escapeHTML: true)]
        for w in writers {
            for list in [objects, [], Array(objects.prefix(1))] {
                var out: [UInt8] = []
                w.appendObjectArray(list, into: &out)
                let tree = JSONValue.array(list.map { .object(OrderedDictionary(uniqueKeysWithValues: $0)) })
                XCTAssertEqual(String(decoding: out, as: UTF8.self), w.string(tree))
            }
        }
    }

    func testCompactRoundTrip() throws {
        let v = try JSONParser.parse(doc)
        XCTAssertEqual(try JSONParser.parse(JSONWriter.compact.string(v)), v)
        XCTAssertEqual(Array(v["machines"]!.objectValue!.keys), ["b", "a"], "key order kept")
        XCTAssertEqual(v["meta"]?["n"], .number("1763061719"), "number spelling kept")
    }

    func testSyntaxErrorsNameLineAndColumn() {
        XCTAssertThrowsError(try JSONParser.parse("{\n  \"a\": [1, 2,,]\n}")) { e in
            let err = e as! JSONSyntaxError
            XCTAssertEqual(err.line, 2)
            XCTAssertEqual(err.column, 14)
        }
        XCTAssertThrowsError(try JSONParser.parse(String(repeating: "[", count: 10_000)))
    }
}
