import Crypto
import Foundation
import XCTest
@testable import FleetModel

/// sops JSON written by fleet: layout as sops writes it, round trips, MAC checked by an
/// independent Python implementation (Fixtures/tools/sops_mac.py), tamper detection.
final class SopsFormatTests: XCTestCase {
    let a = AgeIdentity.generate(), b = AgeIdentity.generate(), c = AgeIdentity.generate()
    var tmp: URL!

    override func setUpWithError() throws { tmp = try AgeTestSupport.tempDir() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func date(_ s: String) -> Date { ISO8601DateFormatter().date(from: s)! }

    func testLayoutMatchesSops() throws {
        let text = try Sops.encryptClanSecret(Array("30102\n".utf8), recipients: [a.recipient, b.recipient], now: date("2025-05-04T12:44:18Z"))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines[0], "{")
        XCTAssertTrue(lines[1].hasPrefix("\t\"data\": \"ENC[AES256_GCM,data:"), String(lines[1]))
        XCTAssertTrue(lines[1].hasSuffix(",type:str]\","))
        XCTAssertEqual(lines[2], "\t\"sops\": {")
        XCTAssertEqual(lines[3], "\t\t\"age\": [")
        XCTAssertEqual(lines[4], "\t\t\t{")
        XCTAssertEqual(lines[5], "\t\t\t\t\"recipient\": \"\(a.recipient.encoded)\",")
        XCTAssertTrue(lines[6].hasPrefix("\t\t\t\t\"enc\": \"-----BEGIN AGE ENCRYPTED FILE-----\\n"))
        XCTAssertTrue(lines[6].hasSuffix("\\n-----END AGE ENCRYPTED FILE-----\\n\""))
        XCTAssertTrue(text.contains("\t\t\"lastmodified\": \"2025-05-04T12:44:18Z\",\n\t\t\"mac\": \"ENC[AES256_GCM,data:"))
        XCTAssertTrue(text.hasSuffix(",type:str]\",\n\t\t\"unencrypted_suffix\": \"_unencrypted\",\n\t\t\"version\": \"3.10.2\"\n\t}\n}\n"))
        // Field shapes: 32-byte IV (44 b64 chars), 16-byte tag (24 chars).
        let enc = try SopsEncryptedValue(parsing: String(lines[1].dropFirst("\t\"data\": \"".count).dropLast(2)))
        XCTAssertEqual(enc.iv.count, 32)
        XCTAssertEqual(enc.tag.count, 16)
        XCTAssertEqual(enc.data.count, 6)
        XCTAssertEqual(try Sops.recipients(ofFileText: text), [a.recipient.encoded, b.recipient.encoded])
    }

    /// Our writer reproduces files written by sops 3.10.2 byte for byte (indentation, key
    /// separators, escaping of the armored newlines, trailing LF).
    func testRendererReproducesRealSopsFilesExactly() throws {
        for url in [SopsRealFixtureTests.passwordSecret,
                    SopsRealFixtureTests.dummy.appendingPathComponent("sops/secrets/peer1-age.key/secret")] {
            let original = try String(contentsOf: url, encoding: .utf8)
            let doc = try SopsDocument(text: original)
            XCTAssertEqual(SopsDocument.render(tree: doc.tree, sops: doc.metadata.raw), original, url.lastPathComponent)
            // Our armor writer reproduces Go's armor of the same binary age file.
            for entry in doc.metadata.age {
                let d = AgeArmor.Decoder()
                let binary = try d.update(Array(entry.enc.utf8)) + d.finish()
                XCTAssertEqual(String(decoding: Age.armor(binary), as: UTF8.self), entry.enc)
            }
        }
    }

    func testRoundTripsAndPythonVerifier() throws {
        let values: [[UInt8]] = [[], Array("x".utf8), Array("30102\n".utf8), Array(0...255), AgeTestSupport.bytes(100_000)]
        try a.keygenFileText().write(to: tmp.appendingPathComponent("a.txt"), atomically: true, encoding: .utf8)
        try c.keygenFileText().write(to: tmp.appendingPathComponent("c.txt"), atomically: true, encoding: .utf8)
        let tool = AgeTestSupport.fixtures.appendingPathComponent("tools/sops_mac.py").path
        for v in values {
            let text = try Sops.encryptClanSecret(v, recipients: [a.recipient, b.recipient])
            XCTAssertEqual(try Sops.decryptClanSecret(text, identities: [a]), v)
            XCTAssertEqual(try Sops.decryptClanSecret(text, identities: [b]), v)
            XCTAssertThrowsError(try Sops.decryptClanSecret(text, identities: [c])) { e in
                XCTAssertTrue("\(e)".contains("none of the available age identities"), "\(e)")
            }
            if v.isEmpty { XCTAssertTrue(text.contains("\"data\": \"\",")) }   // sops leaves "" unencrypted
            let f = tmp.appendingPathComponent("secret")
            try text.write(to: f, atomically: true, encoding: .utf8)
            let r = try AgeTestSupport.run(["python3", tool, f.path, tmp.appendingPathComponent("a.txt").path])
            XCTAssertEqual(r.status, 0, "independent sops MAC check failed: \(String(decoding: r.stdout, as: UTF8.self)) \(r.stderr)")
            let hex = v.map { String(format: "%02x", $0) }.joined()
            XCTAssertTrue(String(decoding: r.stdout, as: UTF8.self).contains("\"data_hex\": \"\(hex)\""), "python decrypted another value")
            // And the verifier is not a yes-man: a file MAC'd over other bytes fails it.
            if v == Array("x".utf8) {
                let wrongMAC = try forgeMAC(text, identity: a, mac: String(repeating: "A", count: 128))
                try wrongMAC.write(to: f, atomically: true, encoding: .utf8)
                XCTAssertEqual(try AgeTestSupport.run(["python3", tool, f.path, tmp.appendingPathComponent("a.txt").path]).status, 1)
                XCTAssertThrowsError(try Sops.decryptClanSecret(wrongMAC, identities: [a])) { e in
                    XCTAssertTrue("\(e)".contains("MAC mismatch"), "\(e)")
                }
            }
        }
    }

    /// Re-encrypts the stored MAC with the right key but a wrong digest.
    func forgeMAC(_ text: String, identity: AgeIdentity, mac: String) throws -> String {
        let doc = try SopsDocument(text: text)
        let key = try doc.dataKey(identities: [identity])
        let enc = try SopsDocument.encryptMAC(mac, dataKey: key, lastModified: doc.metadata.lastModified)
        return text.replacingOccurrences(of: doc.metadata.mac, with: enc)
    }

    func testMACIsUppercaseSHA512OfValue() throws {
        let text = try Sops.encryptClanSecret([], recipients: [a.recipient])
        let doc = try SopsDocument(text: text)
        let key = try doc.dataKey(identities: [a])
        let macEnc = try SopsEncryptedValue(parsing: doc.metadata.mac)
        let mac = String(decoding: try macEnc.open(key: SymmetricKey(data: key), aad: Array(doc.metadata.lastModified.utf8)), as: UTF8.self)
        XCTAssertTrue(mac.hasPrefix("CF83E135"))
        XCTAssertEqual(mac, SHA512.hash(data: [UInt8]()).map { String(format: "%02X", $0) }.joined())
    }

    func testTamperingIsDetected() throws {
        let text = try Sops.encryptClanSecret(Array("hunter2-secret".utf8), recipients: [a.recipient, b.recipient])
        let doc = try SopsDocument(text: text)
        let data = try SopsEncryptedValue(parsing: doc.tree["data"]!.stringValue!)
        func expectError(_ t: String, _ needle: String, _ label: String) {
            XCTAssertThrowsError(try Sops.decryptClanSecret(t, identities: [a]), label) { e in
                XCTAssertTrue("\(e)".contains(needle), "\(label): \(e)")
            }
        }
        // A value byte.
        var d2 = data; d2.data[0] ^= 1
        expectError(text.replacingOccurrences(of: data.encoded, with: d2.encoded), "field data", "value")
        // Its IV and tag.
        var d3 = data; d3.iv[5] ^= 0x80
        expectError(text.replacingOccurrences(of: data.encoded, with: d3.encoded), "field data", "iv")
        var d4 = data; d4.tag[0] ^= 1
        expectError(text.replacingOccurrences(of: data.encoded, with: d4.encoded), "field data", "tag")
        // The MAC itself, and lastmodified (the MAC's AAD).
        var m = try SopsEncryptedValue(parsing: doc.metadata.mac); m.data[3] ^= 1
        expectError(text.replacingOccurrences(of: doc.metadata.mac, with: m.encoded), "sops.mac", "mac")
        var mi = try SopsEncryptedValue(parsing: doc.metadata.mac); mi.iv[0] ^= 1
        expectError(text.replacingOccurrences(of: doc.metadata.mac, with: mi.encoded), "sops.mac", "mac iv")
        expectError(text.replacingOccurrences(of: doc.metadata.lastModified, with: "2001-01-01T00:00:00Z"), "sops.mac", "lastmodified")
        // A value moved to another key path (AAD) is rejected.
        let moved = text.replacingOccurrences(of: "\"data\": ", with: "\"data2\": ")
        XCTAssertThrowsError(try Sops.decryptDocument(moved, identities: [a]))
        // A recipient stanza: flip a byte inside a's armored age file -> a can no longer open it,
        // and the error names the stanza; b still decrypts (sops tries every entry).
        let enc = doc.metadata.age[0].enc
        var lines = enc.split(separator: "\n").map(String.init)
        var chars = Array(lines[2]); chars[10] = chars[10] == "A" ? "B" : "A"; lines[2] = String(chars)
        let tampered = text.replacingOccurrences(of: enc.replacingOccurrences(of: "\n", with: "\\n"),
                                                 with: (lines.joined(separator: "\n") + "\n").replacingOccurrences(of: "\n", with: "\\n"))
        XCTAssertNotEqual(tampered, text)
        expectError(tampered, "sops.age[0]", "recipient stanza")
        XCTAssertEqual(try Sops.decryptClanSecret(tampered, identities: [b]), Array("hunter2-secret".utf8))
        // Swapping the MACs of two files with the same data key is impossible; swapping values
        // between files fails authentication.
        let other = try Sops.encryptClanSecret(Array("other".utf8), recipients: [a.recipient])
        let otherData = try SopsDocument(text: other).tree["data"]!.stringValue!
        expectError(text.replacingOccurrences(of: data.encoded, with: otherData), "field data", "foreign value")
    }

    func testLastModifiedIsReformattedLikeGo() throws {
        XCTAssertEqual(try SopsTime.reformat("2025-05-04T12:44:18Z"), "2025-05-04T12:44:18Z")
        XCTAssertEqual(try SopsTime.reformat("2025-05-04T12:44:18.123Z"), "2025-05-04T12:44:18Z")
        XCTAssertEqual(try SopsTime.reformat("2025-05-04T12:44:18+00:00"), "2025-05-04T12:44:18Z")
        XCTAssertEqual(try SopsTime.reformat("2025-05-04T12:44:18+02:00"), "2025-05-04T12:44:18+02:00")
        XCTAssertThrowsError(try SopsTime.reformat("2025-05-04 12:44:18"))
        XCTAssertEqual(SopsTime.format(date("2025-05-04T12:44:18Z")), "2025-05-04T12:44:18Z")
        // A file whose MAC was bound to a fractional-second string fails, as it does in sops.
        let text = try Sops.encryptClanSecret(Array("v".utf8), recipients: [a.recipient], now: date("2025-05-04T12:44:18Z"))
        let doc = try SopsDocument(text: text)
        let key = try doc.dataKey(identities: [a])
        let mac = String(decoding: try SopsEncryptedValue(parsing: doc.metadata.mac).open(key: SymmetricKey(data: key), aad: Array("2025-05-04T12:44:18Z".utf8)), as: UTF8.self)
        let frac = try SopsDocument.encryptMAC(mac, dataKey: key, lastModified: "2025-05-04T12:44:18.5Z")
        let bad = text.replacingOccurrences(of: doc.metadata.mac, with: frac).replacingOccurrences(of: "12:44:18Z", with: "12:44:18.5Z")
        XCTAssertThrowsError(try Sops.decryptClanSecret(bad, identities: [a]))
    }

    func testReencryptKeepsValueAndMAC() throws {
        let text = try Sops.encryptClanSecret(Array("keep me".utf8), recipients: [a.recipient])
        let re = try Sops.reencrypt(text, identities: [a], to: [b.recipient, c.recipient])
        XCTAssertEqual(try Sops.recipients(ofFileText: re), [b.recipient.encoded, c.recipient.encoded])
        XCTAssertEqual(try Sops.decryptClanSecret(re, identities: [c]), Array("keep me".utf8))
        XCTAssertThrowsError(try Sops.decryptClanSecret(re, identities: [a]))
        let before = try SopsDocument(text: text), after = try SopsDocument(text: re)
        XCTAssertEqual(before.tree, after.tree)
        XCTAssertEqual(before.metadata.mac, after.metadata.mac)
        XCTAssertEqual(before.metadata.lastModified, after.metadata.lastModified)
        // Re-encrypting a real clan 3.7.3 file keeps its legacy metadata fields.
        let real = SopsRealFixtureTests.clan
        let file = try String(contentsOf: real.appendingPathComponent("secrets/sops/secrets/secret/secret"), encoding: .utf8)
        let ids = try SopsRealFixtureTests.identities(real.appendingPathComponent("secrets/key.age"))
        let re2 = try Sops.reencrypt(file, identities: ids, to: [a.recipient])
        XCTAssertEqual(try Sops.decryptClanSecret(re2, identities: [a]), Array("foo".utf8))
        XCTAssertTrue(re2.contains("\"version\": \"3.7.3\""))
    }

    func testGenericDocumentsTypesAndPaths() throws {
        let plain = try JSONParser.parse("""
            {"s": "text", "n": 42, "f": 1234.56789, "big": 1e21, "t": true, "nul": null, "empty": "",
             "list": ["a", {"field": "b"}], "nested": {"a": {"b": "c"}}, "keep_unencrypted": "visible"}
            """)
        let text = try Sops.encryptDocument(plain, recipients: [a.recipient])
        XCTAssertTrue(text.contains("\"keep_unencrypted\": \"visible\""))
        XCTAssertTrue(text.contains("\"nul\": null"))
        XCTAssertTrue(text.contains("\"empty\": \"\""))
        XCTAssertTrue(text.contains(",type:int]"))
        XCTAssertTrue(text.contains(",type:float]"))
        XCTAssertTrue(text.contains(",type:bool]"))
        let back = try Sops.decryptDocument(text, identities: [a])
        XCTAssertEqual(back["s"], .string("text"))
        XCTAssertEqual(back["n"], .number("42"))
        XCTAssertEqual(back["f"], .number("1234.56789"))
        XCTAssertEqual(back["big"], .number("1000000000000000000000"))
        XCTAssertEqual(back["t"], .bool(true))
        XCTAssertEqual(back["list"]?.arrayValue?[1]["field"], .string("b"))
        XCTAssertEqual(back["nested"]?["a"]?["b"], .string("c"))
        // AAD rules: nested path a:b:, list elements use the list's path.
        let doc = try SopsDocument(text: text)
        let key = SymmetricKey(data: try doc.dataKey(identities: [a]))
        let nested = try SopsEncryptedValue(parsing: doc.tree["nested"]!["a"]!["b"]!.stringValue!)
        XCTAssertEqual(try nested.open(key: key, aad: Array("nested:a:b:".utf8)), Array("c".utf8))
        let inList = try SopsEncryptedValue(parsing: doc.tree["list"]!.arrayValue![1]["field"]!.stringValue!)
        XCTAssertEqual(try inList.open(key: key, aad: Array("list:field:".utf8)), Array("b".utf8))
        XCTAssertEqual(SopsPlaintext.formatFloat(1e-7), "0.0000001")
        XCTAssertEqual(SopsPlaintext.formatFloat(-2.5), "-2.5")
        XCTAssertEqual(SopsPlaintext.formatFloat(100), "100")
    }
}
