import Foundation
import XCTest
@testable import FleetModel

/// The byte-level scanner (`JSONDocument`, behind `JSONParser`) must read every text exactly as the
/// recursive parser it replaced did: the same value, or the same error at the same line and column.
final class JSONScannerTests: XCTestCase {
    private func outcome(_ parse: () throws -> JSONValue) -> Result<JSONValue, JSONSyntaxError> {
        do { return .success(try parse()) } catch let e as JSONSyntaxError { return .failure(e) } catch {
            XCTFail("unexpected error type \(error)")
            return .failure(JSONSyntaxError(line: 0, column: 0, message: "\(error)"))
        }
    }

    private func assertAgrees(_ bytes: [UInt8], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        let old = outcome { try LegacyJSONParser.parse(bytes) }
        let new = outcome { try JSONParser.parse(bytes) }
        switch (old, new) {
        case (.success(let a), .success(let b)):
            XCTAssertEqual(a, b, "value differs: \(label)", file: file, line: line)
            // The byte-buffer writer spells every value as the String-appending one did, in every
            // configuration fleet uses (python json.dump, compact, Go/sops).
            let configs: [(JSONWriter, LegacyJSONWriter)] = [
                (.python2, .python2), (.compact, .compact), (JSONWriter(indent: "  "), LegacyJSONWriter(indent: "  ")),
                (JSONWriter(indent: "\t", keySeparator: ": ", sortKeys: true, escapeHTML: true),
                 LegacyJSONWriter(indent: "\t", keySeparator: ": ", sortKeys: true, escapeHTML: true)),
                (JSONWriter(keySeparator: ":", escapeHTML: true), LegacyJSONWriter(keySeparator: ":", escapeHTML: true)),
            ]
            for (new, old) in configs {
                XCTAssertEqual(new.string(b), old.string(a), "writer differs: \(label)", file: file, line: line)
            }
        case (.failure(let a), .failure(let b)):
            XCTAssertEqual(a, b, "error differs: \(label)", file: file, line: line)
        default:
            XCTFail("one parser accepted, the other did not: \(label): old \(old), new \(new)", file: file, line: line)
        }
    }

    /// Every JSON file of the test fixtures, the fuzz corpus and the embedded demo.
    private func corpus() throws -> [(String, [UInt8])] {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var out: [(String, [UInt8])] = []
        for dir in ["Tests/FleetModelTests/Fixtures", "fuzz/corpus/json", "fuzz/corpus/sops", "inventory"] {
            let root = repo.appendingPathComponent(dir).path
            guard let walker = FileManager.default.enumerator(atPath: root) else { continue }
            for case let rel as String in walker where rel.hasSuffix(".json") || dir.hasPrefix("fuzz") {
                var isDir: ObjCBool = false
                let path = root + "/" + rel
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
                      let data = FileManager.default.contents(atPath: path) else { continue }
                out.append((dir + "/" + rel, Array(data)))
            }
        }
        XCTAssertGreaterThan(out.count, 20, "the corpus was not found")
        return out
    }

    func testAgreesOnEveryFixtureAndCorpusFile() throws {
        for (name, bytes) in try corpus() { assertAgrees(bytes, name) }
    }

    /// Mutated corpus files: byte flips, truncations, inserted structural and non-ASCII bytes.
    func testAgreesOnMutatedCorpus() throws {
        var rng = SplitMix64(seed: 0x1234_5678)
        let interesting: [UInt8] = Array(#"{}[]",:\ u0123456789eE+-.tfn"#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF]
        let files = try corpus().filter { $0.1.count < 200_000 }
        for (name, original) in files {
            for k in 0..<60 {
                var b = original
                for _ in 0...Int(rng.next() % 3) where !b.isEmpty {
                    let at = Int(rng.next() % UInt64(b.count))
                    switch rng.next() % 4 {
                    case 0: b[at] = interesting[Int(rng.next() % UInt64(interesting.count))]
                    case 1: b.insert(interesting[Int(rng.next() % UInt64(interesting.count))], at: at)
                    case 2: b.remove(at: at)
                    default: b = Array(b[..<at])
                    }
                }
                assertAgrees(b, "\(name) mutation \(k)")
            }
        }
    }

    func testAgreesOnEdgeCases() {
        let cases: [String] = [
            "", " ", "\u{FEFF}{}", "\u{FEFF} 1", " \u{FEFF}1", "{}", "[]", "[1,]", "{,}", #"{"a"}"#, #"{"a":}"#, #"{"a":1,}"#,
            "01", "-", "-0", "1.", "1.e3", "1e", "1e+", "1E-7", "-0.0e+00", "123456789012345678901234567890",
            "tru", "true false", "nul", "nulll", "[true,false,null]", #""\u00e9\ud83d\ude00\n\t\/\\\"""#,
            #""\ud83d""#, #""\ude00""#, #""\ud83d\u0041""#, #""\u12G4""#, #""\u12""#, #""\x""#, "\"a\u{01}b\"", "\"abc",
            #""\"#, #"{"a":1,"a":2,"b":3}"#, #"["<&>", "\u0001\u001f\u007f", "\u2028 é 😀", "a\"b\\c"]"#, #"{"é":1,"é":2}"#, #"{"\u006eame":"x","name":"y"}"#,
            String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
            String(repeating: "[", count: 512) + String(repeating: "]", count: 512),
            "[1] x", "{\"a\":[1,{\"b\":null}],\"c\":\"d\"}\n", "\"é\"", "\n\n  [1,\n 2,\n ?]",
        ]
        for c in cases { assertAgrees(Array(c.utf8), c) }
        let raw: [[UInt8]] = [
            [0x22, 0xC3, 0x22], [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],
            [0x22, 0xF5, 0x22], [0x22, 0xE0, 0x9F, 0xBF, 0x22], [0x22, 0xF0, 0x9F, 0x98, 0x80, 0x22], [0x22, 0xC3, 0x5C, 0x6E, 0xA9, 0x22],
            [0xEF, 0xBB, 0xBF], [0xEF, 0xBB], [0x5B, 0xFF, 0x5D],
        ]
        for r in raw { assertAgrees(r, "\(r)") }
    }

    func testDocumentReadsWithoutMaterialising() throws {
        let doc = try JSONDocument(Array(#"{"machines": {"b": {"tags": ["x", "y"]}, "a": null}, "n": -1.50, "s": "\u00e9", "b": true}"#.utf8))
        XCTAssertEqual(doc.kind(doc.root), .object)
        XCTAssertEqual(doc.count(doc.root), 4)
        let machines = try XCTUnwrap(doc.lastValue(doc.root, forKey: "machines"))
        XCTAssertEqual(Array(doc.pairs(machines).keys), ["b", "a"])
        let b = try XCTUnwrap(doc.pairs(machines)["b"])
        let tags = try XCTUnwrap(doc.lastValue(b, forKey: "tags"))
        XCTAssertEqual(doc.elements(tags).map { doc.string($0) }, ["x", "y"])
        XCTAssertEqual(doc.numberText(try XCTUnwrap(doc.lastValue(doc.root, forKey: "n"))), "-1.50")
        XCTAssertEqual(doc.stringValue(try XCTUnwrap(doc.lastValue(doc.root, forKey: "s"))), "é")
        XCTAssertEqual(doc.boolValue(try XCTUnwrap(doc.lastValue(doc.root, forKey: "b"))), true)
        XCTAssertNil(doc.lastValue(doc.root, forKey: "missing"))
        XCTAssertEqual(doc.next(doc.root), doc.tape.count)
    }
}
