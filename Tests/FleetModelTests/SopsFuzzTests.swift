import Foundation
import XCTest
@testable import FleetModel

/// Mutated sops files (byte-level and structural) give clear errors, never a crash and never a
/// wrong value.
final class SopsFuzzTests: XCTestCase {
    func testMutatedSopsFilesNeverCrash() throws {
        let id = AgeIdentity.generate()
        let value = Array("fuzzed-secret-value".utf8)
        let seeds = [
            try Sops.encryptClanSecret(value, recipients: [id.recipient, AgeIdentity.generate().recipient]),
            try String(contentsOf: SopsRealFixtureTests.passwordSecret, encoding: .utf8),
        ]
        let realIds = try SopsRealFixtureTests.identities(SopsRealFixtureTests.adminKey)
        var rng = AgeFuzzTests.Rng(x: 0xC0FFEE)
        var errors = 0
        for n in 0..<3000 {
            let seedIndex = n % 2
            let m = AgeFuzzTests.mutate(Array(seeds[seedIndex].utf8), &rng)
            let text = String(decoding: m, as: UTF8.self)
            do {
                let out = try Sops.decryptClanSecret(text, identities: seedIndex == 0 ? [id] : realIds)
                XCTAssertEqual(out, seedIndex == 0 ? value : Array("30102\n".utf8), "mutation \(n) gave a different value")
            } catch let e as SopsError {
                errors += 1
                XCTAssertFalse(e.description.isEmpty)
            } catch {
                XCTFail("mutation \(n): unexpected error type \(error)")
            }
            _ = try? Sops.recipients(ofFileText: text)
        }
        XCTAssertGreaterThan(errors, 2000)
    }

    func testStructuralMutations() throws {
        let id = AgeIdentity.generate()
        let good = try Sops.encryptClanSecret(Array("v".utf8), recipients: [id.recipient])
        let doc = try JSONParser.parse(good)
        let replacements: [JSONValue] = [.null, .bool(true), .number("1"), .string(""), .string("ENC[AES256_GCM,data:,iv:,tag:,type:str]"),
                                         .array([]), .object([:]), .string("ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:nope]")]
        func paths(_ v: JSONValue, _ p: [String]) -> [[String]] {
            var out = [p]
            if case .object(let o) = v { for (k, c) in o { out += paths(c, p + [k]) } }
            if case .array(let a) = v { for (i, c) in a.enumerated() { out += paths(c, p + ["#\(i)"]) } }
            return out
        }
        func replace(_ v: JSONValue, _ p: ArraySlice<String>, _ with: JSONValue?) -> JSONValue? {
            guard let head = p.first else { return with }
            switch v {
            case .object(var o):
                if let c = o[head] { o[head] = replace(c, p.dropFirst(), with) }
                return .object(o)
            case .array(var a):
                if let i = Int(head.dropFirst()), a.indices.contains(i) {
                    if let r = replace(a[i], p.dropFirst(), with) { a[i] = r } else { a.remove(at: i) }
                }
                return .array(a)
            default: return v
            }
        }
        var count = 0
        for p in paths(doc, []) where !p.isEmpty {
            for r in replacements + [nil] {
                guard let mutated = replace(doc, p[...], r) else { continue }
                let text = JSONWriter(indent: "\t").string(mutated)
                if text == JSONWriter(indent: "\t").string(doc) { continue }
                count += 1
                do {
                    let out = try Sops.decryptClanSecret(text, identities: [id])
                    XCTAssertEqual(out, Array("v".utf8), "\(p) -> \(String(describing: r))")
                } catch let e as SopsError {
                    XCTAssertFalse(e.description.isEmpty)
                } catch { XCTFail("\(p): \(error)") }
            }
        }
        XCTAssertGreaterThan(count, 50)
    }
}
