import Crypto
import Foundation
import XCTest
@testable import FleetModel

/// Runs every vendored C2SP age testkit vector (Fixtures/age-testkit, from C2SP/CCTV) and checks
/// the outcome class and the SHA-256 of the plaintext released before any failure.
final class AgeTestkitTests: XCTestCase {
    struct Vector {
        var name: String
        var expect: String
        var payload: String?
        var identities: [String]
        var armored: Bool
        var compressed: Bool
        var body: [UInt8]
    }

    static let knownKeys: Set<String> = ["expect", "payload", "identity", "armored", "compressed", "file key", "comment", "passphrase"]

    func loadVectors() throws -> [Vector] {
        let dir = AgeTestSupport.fixtures.appendingPathComponent("age-testkit")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0 != "LICENSE" }.sorted()
        var vectors: [Vector] = []
        var toInflate: [String: [UInt8]] = [:]
        for name in names {
            let data = Array(try Data(contentsOf: dir.appendingPathComponent(name)))
            // Header lines "key: value", an empty line, then the age file.
            guard let sep = (0..<data.count - 1).first(where: { data[$0] == 0x0A && data[$0 + 1] == 0x0A }) else {
                XCTFail("\(name): no header separator"); continue
            }
            var v = Vector(name: name, expect: "", payload: nil, identities: [], armored: false, compressed: false,
                           body: Array(data[(sep + 2)...]))
            for line in String(decoding: data[..<sep], as: UTF8.self).split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                XCTAssertTrue(Self.knownKeys.contains(parts[0]), "\(name): unknown key \(parts[0])")
                switch parts[0] {
                case "expect": v.expect = parts[1]
                case "payload": v.payload = parts[1]
                case "identity": v.identities.append(parts[1])
                case "armored": v.armored = parts[1] == "yes"
                case "compressed": v.compressed = parts[1] == "zlib"
                case "passphrase": XCTFail("\(name): scrypt vectors are not vendored")
                default: break
                }
            }
            if v.compressed { toInflate[name] = v.body }
            vectors.append(v)
        }
        // zlib inflate with python3 (Foundation has no zlib on Linux): one process for all files.
        if !toInflate.isEmpty {
            let tmp = try AgeTestSupport.tempDir()
            defer { try? FileManager.default.removeItem(at: tmp) }
            for (n, b) in toInflate { try Data(b).write(to: tmp.appendingPathComponent(n)) }
            let r = try AgeTestSupport.run(["python3", "-c", """
                import sys, zlib, os
                d = sys.argv[1]
                for n in os.listdir(d):
                    p = os.path.join(d, n)
                    open(p + ".out", "wb").write(zlib.decompress(open(p, "rb").read()))
                """, tmp.path])
            XCTAssertEqual(r.status, 0, r.stderr)
            for i in vectors.indices where vectors[i].compressed {
                vectors[i].body = Array(try Data(contentsOf: tmp.appendingPathComponent(vectors[i].name + ".out")))
            }
        }
        return vectors
    }

    /// Decrypts with the streaming API, collecting everything released, and maps errors to the
    /// testkit's outcome names.
    func run(_ v: Vector) -> (outcome: String, released: [UInt8], error: String?) {
        var released: [UInt8] = []
        var decryptor: AgeDecryptor?
        do {
            let ids = try v.identities.map { try AgeIdentity(parsing: $0) }
            let d = AgeDecryptor(identities: ids, format: v.armored ? .armored : .binary)
            decryptor = d
            // Feed in odd-sized pieces to exercise the incremental parsers.
            var i = 0
            while i < v.body.count {
                let n = min(7919, v.body.count - i)
                released += try d.update(Array(v.body[i..<i + n]))
                i += n
            }
            released += try d.finish()
            return ("success", released, nil)
        } catch let e as AgeError {
            released += decryptor?.releasedBeforeFailure ?? []
            let o: String
            switch e {
            case .header: o = "header failure"
            case .noMatch: o = "no match"
            case .hmac: o = "HMAC failure"
            case .payload: o = "payload failure"
            case .armor: o = "armor failure"
            case .invalidKey, .other: o = "other"
            }
            return (o, released, e.description)
        } catch {
            return ("other", released, "\(error)")
        }
    }

    func testAllVendoredVectors() throws {
        let vectors = try loadVectors()
        XCTAssertGreaterThanOrEqual(vectors.count, 97, "vendored vector files went missing")
        var counts: [String: Int] = [:]
        for v in vectors {
            let r = run(v)
            counts[v.expect, default: 0] += 1
            XCTAssertEqual(r.outcome, v.expect, "\(v.name): got \(r.outcome) (\(r.error ?? "ok"))")
            if let p = v.payload {
                let h = SHA256.hash(data: r.released).map { String(format: "%02x", $0) }.joined()
                XCTAssertEqual(h, p, "\(v.name): released plaintext hash")
            }
        }
        XCTAssertGreaterThan(counts["success"] ?? 0, 10)
        XCTAssertGreaterThan(counts["header failure"] ?? 0, 30)
    }

    /// STREAM round trip: re-encrypting each success vector's plaintext with its file key and
    /// nonce reproduces the payload byte for byte (proves our chunking and final-flag rules).
    func testStreamReencryptionIsByteIdentical() throws {
        let fileKey: [UInt8] = Array("YELLOW SUBMARINE".utf8)
        var checked = 0
        for v in try loadVectors() where v.expect == "success" && !v.armored {
            let r = run(v)
            let p = try XCTUnwrap(try AgeHeader.parse(v.body, atEOF: true), v.name)
            let nonce = Array(v.body[p.length..<p.length + 16])
            var sealer = AgeStream.Sealer(key: AgeKeys.payloadKey(fileKey: fileKey, nonce: nonce))
            let payload = try sealer.update(r.released) + sealer.finish()
            XCTAssertTrue(payload == Array(v.body[(p.length + 16)...]), "\(v.name): STREAM re-encryption differs")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 10)
    }

    /// Every vector whose header parses re-serialises to the same bytes.
    func testHeaderRoundTrip() throws {
        var checked = 0
        for v in try loadVectors() where !v.armored && v.expect != "header failure" {
            guard let p = try? AgeHeader.parse(v.body, atEOF: true) else { XCTFail("\(v.name) does not parse"); continue }
            XCTAssertEqual(p.header.encoded(), Array(v.body[..<p.length]), v.name)
            checked += 1
        }
        XCTAssertGreaterThan(checked, 30)
    }
}
