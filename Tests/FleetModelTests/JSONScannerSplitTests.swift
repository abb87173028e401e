import Foundation
import XCTest
import Collections
@testable import FleetModel

/// A text scanned in pieces on several threads (`JSONScanner.scan(_:parts:)`) gives exactly the
/// sequential scan's tape — entry by entry, in order — or its error at the same line and column,
/// wherever the pieces start: at the cuts the scanner picks, at every byte of small texts (inside
/// strings, on escapes, next to braces and quotes), at the nesting limit, on broken texts.
final class JSONScannerSplitTests: XCTestCase {
    private typealias Entry = JSONDocument.Entry

    private func outcome(_ scan: () throws -> [Entry]) -> Result<[Entry], JSONSyntaxError> {
        do { return .success(try scan()) } catch let e as JSONSyntaxError { return .failure(e) } catch {
            XCTFail("unexpected error type \(error)")
            return .failure(JSONSyntaxError(line: 0, column: 0, message: "\(error)"))
        }
    }

    private func same(_ a: Result<[Entry], JSONSyntaxError>, _ b: Result<[Entry], JSONSyntaxError>) -> Bool {
        switch (a, b) {
        case (.success(let x), .success(let y)): return x == y
        case (.failure(let x), .failure(let y)): return x == y
        default: return false
        }
    }

    /// Scans `bytes` with pieces at `starts` and compares with the sequential scan; returns how many
    /// pieces were taken when they were scanned first (`inline`: which ones are taken does not depend
    /// on the threads' timing). The pieces are also scanned on their threads, as in use.
    @discardableResult
    private func assertSame(_ bytes: [UInt8], starts: [Int], _ label: @autoclosure () -> String,
                            file: StaticString = #filePath, line: UInt = #line) -> Int {
        let sequential = outcome { try JSONScanner.scan(bytes, parts: 1) }
        var taken = 0
        let split = outcome {
            let r = try JSONScanner.scan(bytes, starts: starts, inline: true)
            taken = r.taken
            return r.tape
        }
        XCTAssert(same(sequential, split), "\(label()): pieces at \(starts) differ: \(sequential) vs \(split)", file: file, line: line)
        let threaded = outcome { try JSONScanner.scan(bytes, starts: starts, inline: false).tape }
        XCTAssert(same(sequential, threaded), "\(label()): pieces at \(starts) on threads differ", file: file, line: line)
        return taken
    }

    // MARK: random texts

    /// Strings that look like structure: braces, brackets, commas, colons, quotes and backslashes
    /// (escaped), escaped newlines, non-ASCII, `\u` escapes.
    private static let tricky = [#"},\n  \"k\": {"#, #"\\"#, #"\""#, #"a,b"#, #"[1, 2]"#, #"{\"x\": 1}"#, "é😀", #"\u00e9\ud83d\ude00"#,
                                 #"\n    \"m\": ["#, #", \"#, "plain", "", #"\t\/"#, #"}]"#]

    private func randomValue(_ rng: inout SplitMix64, depth: Int) -> JSONValue {
        let r = rng.next() % (depth > 4 ? 4 : 7)
        switch r {
        case 0: return .null
        case 1: return .bool(rng.next() % 2 == 0)
        case 2: return .number(["0", "-1.5e3", "42", "3.25", "-0"][Int(rng.next() % 5)])
        case 3: return .string(Self.tricky[Int(rng.next() % UInt64(Self.tricky.count))])
        case 4, 5:
            var o = [(String, JSONValue)]()
            for i in 0..<Int(rng.next() % 6) {
                o.append((Self.tricky[Int(rng.next() % UInt64(Self.tricky.count))] + "\(i)", randomValue(&rng, depth: depth + 1)))
            }
            return .object(.init(o, uniquingKeysWith: { a, _ in a }))
        default:
            return .array((0..<Int(rng.next() % 6)).map { _ in randomValue(&rng, depth: depth + 1) })
        }
    }

    /// A pretty-printed text (newlines, so the scanner's own cuts apply) of `count` top-level members.
    private func randomText(_ rng: inout SplitMix64, count: Int, indent: String = "  ") -> [UInt8] {
        var members = [(String, JSONValue)]()
        for i in 0..<count { members.append(("m\(i)" + Self.tricky[i % Self.tricky.count], randomValue(&rng, depth: 1))) }
        let root: JSONValue = rng.next() % 3 == 0
            ? .array(members.map(\.1))
            : .object(["machines": .object(.init(members, uniquingKeysWith: { a, _ in a })), "tags": .array(members.map { .string($0.0) })])
        return JSONWriter(indent: indent).bytes(root)
    }

    func testRandomTextsAtTheScannersOwnCuts() {
        var rng = SplitMix64(seed: 0xC0FFEE)
        var takenAny = 0
        for round in 0..<200 {
            let bytes = randomText(&rng, count: 5 + Int(rng.next() % 80), indent: round % 5 == 0 ? "\t" : "  ")
            for parts in 2...5 {
                let cuts = JSONScanner.cuts(bytes, parts: parts)
                takenAny += assertSame(bytes, starts: cuts, "round \(round), \(parts) parts")
                XCTAssert(same(outcome { try JSONScanner.scan(bytes, parts: 1) }, outcome { try JSONScanner.scan(bytes, parts: parts) }),
                          "round \(round): scan(parts: \(parts))")
            }
        }
        XCTAssertGreaterThan(takenAny, 400, "the pieces were hardly ever taken: the test does not test the splicing")
    }

    func testRandomTextsWithPiecesAtRandomBytes() {
        var rng = SplitMix64(seed: 7)
        for round in 0..<300 {
            let bytes = randomText(&rng, count: 3 + Int(rng.next() % 20))
            let starts = (0..<1 + Int(rng.next() % 6)).map { _ in Int(rng.next() % UInt64(bytes.count)) }
            assertSame(bytes, starts: starts, "round \(round)")
        }
    }

    /// Every start (and every pair of starts around the cuts) in small texts with structure-like
    /// strings: a piece may begin inside a string, on an escape, on a key or a value.
    func testEveryStartInSmallTexts() {
        let texts = [
            #"{"a": {"x": "},\n  \"b\": {", "y": [1, "]\"", {"z": "\\"}]},"# + "\n" + #"  "b\"}": "{\"c\": 2}", "c": [],"# + "\n" + #"  "d": {"\\\"": null}}"#,
            "[\n  \"a,\",\n  {\"k\": \"\\\"\\n\"},\n  [1, 2, {\"]\": \"[\"}],\n  \"\\u00e9\",\n  -0.5e-3\n]",
            "{\n  \"machines\": {\n    \"a\": {\"tags\": [\"x\", \"y\"]},\n    \"b\": {\"tags\": []},\n    \"c,\": null\n  },\n  \"tags\": [\"a\",\n \"b\"]\n}",
        ]
        for t in texts {
            let bytes = Array(t.utf8)
            var taken = 0
            for s in 1..<bytes.count { taken += assertSame(bytes, starts: [s], "\(t) at \(s)") }
            XCTAssertGreaterThan(taken, 3, "no start was taken in \(t)")
            for s in 1..<bytes.count { for s2 in stride(from: s + 1, to: bytes.count, by: 3) { assertSame(bytes, starts: [s, s2], "\(t) at \(s), \(s2)") } }
        }
    }

    /// Broken texts: the error of the sequential scan, at the same line and column, whether the
    /// break lies before a cut, inside a piece or after it.
    func testBrokenTextsGiveTheSequentialError() {
        var rng = SplitMix64(seed: 99)
        let breakers: [UInt8] = Array(#"{}[]",:\ u0tn-"#.utf8) + [0x00, 0x0A, 0xC3, 0xFF]
        for round in 0..<300 {
            var bytes = randomText(&rng, count: 10 + Int(rng.next() % 30))
            let at = Int(rng.next() % UInt64(bytes.count))
            switch rng.next() % 3 {
            case 0: bytes[at] = breakers[Int(rng.next() % UInt64(breakers.count))]
            case 1: bytes.insert(breakers[Int(rng.next() % UInt64(breakers.count))], at: at)
            default: bytes.remove(at: at)
            }
            let cuts = JSONScanner.cuts(bytes, parts: 2 + Int(rng.next() % 3))
            assertSame(bytes, starts: cuts, "broken round \(round)")
            assertSame(bytes, starts: cuts + [at, at + 1, max(1, at - 1)], "broken round \(round) near the break")
        }
    }

    /// A piece is the continuation of the container it is found in only when it was scanned as that
    /// kind: members that read as an array's inside an object (or as an object's inside an array)
    /// are the sequential scan's error, even when each piece is fine on its own.
    func testAPieceOfTheOtherKindIsNotTaken() {
        let texts = ["{\"a\": 1,\n\"b\",\n\"c\": 2}", "[1,\n\"b\": 2,\n3]", "[1,\n\"b\": 2]", "{\"a\": 1,\n\"b\",\n\"c\"}"]
        for t in texts {
            let bytes = Array(t.utf8)
            let starts = bytes.indices.filter { $0 > 0 && bytes[$0 - 1] == 0x0A }
            XCTAssertFalse(starts.isEmpty)
            assertSame(bytes, starts: starts, t)
            for s in starts { assertSame(bytes, starts: [s], t) }
        }
    }

    /// The nesting limit counts the levels above a piece: a piece that is fine on its own but too deep
    /// where it is must not be taken (the sequential error), one just within the limit must.
    func testNestingLimitAcrossAPiece() {
        let limit = JSONParser.maxDepth
        for outer in [limit - 3, limit - 2, limit - 1] {
            // `outer` levels of {"k": …}, then an object with two members on their own lines, the
            // second holding 2 more levels.
            let open = String(repeating: "{\"k\": ", count: outer - 1)
            let close = String(repeating: "}", count: outer - 1)
            let text = open + "{\"a\": 1,\n\"b\": [[0]]}" + close
            let bytes = Array(text.utf8)
            let start = text.utf8.count - close.utf8.count - "\"b\": [[0]]}".utf8.count
            XCTAssertEqual(bytes[start], UInt8(ascii: "\""))
            let taken = assertSame(bytes, starts: [start], "depth \(outer)")
            XCTAssertEqual(taken, outer + 2 <= limit ? 1 : 0, "depth \(outer)")
        }
    }

    /// A 10k-machine inventory: the automatic parallel scan of `JSONDocument` gives the sequential
    /// tape, and pieces are taken (the cut lands on a machine).
    func testSyntheticInventoryScansInPieces() throws {
        let dir = try makeTempDir(self)
        try SyntheticFleet(machines: 3000, withZerotierVars: false).write(to: dir)
        let bytes = try XCTUnwrap(FileBytes.read(dir + "/inventory.json"))
        XCTAssertGreaterThan(bytes.count, JSONScanner.parallelBytes)
        for parts in 2...4 {
            let cuts = JSONScanner.cuts(bytes, parts: parts)
            XCTAssertEqual(cuts.count, parts - 1)
            XCTAssertEqual(assertSame(bytes, starts: cuts, "synthetic, \(parts) parts"), parts - 1)
        }
    }
}
