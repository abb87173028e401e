import Crypto
import Foundation
import XCTest
@testable import FleetModel

/// Pure unit tests of the age pieces: Bech32 keys, armor and stanza writers, STREAM chunking.
final class AgeFormatTests: XCTestCase {
    func testKnownKeyPairs() throws {
        let pairs = [
            ("AGE-SECRET-KEY-1UCXEUJH6JXF8LFKWFHDM4N9AQE2CCGQZGXLUNV4TKR5KY0KC8FDQ2TY4NX", "age15x8u838dwqflr3t6csf4tlghxm4tx77y379ncqxav7y2n8qp7yzqgrwt00"),
            ("AGE-SECRET-KEY-1PL0M9CWRCG3PZ9DXRTTLMCVD57U6JDFE8K7DNVQ35F4JENZ6G3MQ0RQLRV", "age1qm0p4vf9jvcnn43s6l4prk8zn6cx0ep9gzvevxecv729xz540v8qa742eg"),
            ("AGE-SECRET-KEY-1G0Q5K9TV4REQ3ZSQRMTMG8NSWQGYT0T7TZ33RAZEE0GZYVZN0APSU24RK7", "age1lzd99uklcjnc0e7d860axevet2cz99ce9pq6tzuzd05l5nr28ams36nvun"),
        ]
        for (sk, pk) in pairs {
            let id = try AgeIdentity(parsing: sk)
            XCTAssertEqual(id.recipient.encoded, pk)
            XCTAssertEqual(id.encoded, sk)
            XCTAssertEqual(try AgeRecipient(parsing: pk).encoded, pk)
            XCTAssertFalse("\(id)".contains("SECRET"), "description must not print the secret")
        }
    }

    func testBadKeysAreRejected() {
        let good = "age1qm0p4vf9jvcnn43s6l4prk8zn6cx0ep9gzvevxecv729xz540v8qa742eg"
        var bad = [
            "age1qm0p4vf9jvcnn43s6l4prk8zn6cx0ep9gzvevxecv729xz540v8qa742eh",   // checksum
            "age1Qm0p4vf9jvcnn43s6l4prk8zn6cx0ep9gzvevxecv729xz540v8qa742eg",   // mixed case
            "AGE1QM0P4VF9JVCNN43S6L4PRK8ZN6CX0EP9GZVEVXECV729XZ540V8QA742EG",   // uppercase recipient
            "agf1qm0p4vf9jvcnn43s6l4prk8zn6cx0ep9gzvevxecv729xz540v8qa742eg",   // HRP
            "age1qm0p4vf9jvcnn43s6l4prk8zn6cx0ep9gzvevxecv729xz540v8qa742", "", "age1", "age1pqxyz",
        ]
        bad.append(Bech32.encode(hrp: "age", data: Array(repeating: 1, count: 31)))
        for s in bad { XCTAssertThrowsError(try AgeRecipient(parsing: s), s) }
        XCTAssertNoThrow(try AgeRecipient(parsing: good))
        XCTAssertThrowsError(try AgeIdentity(parsing: "age-secret-key-1pl0m9cwrcg3pz9dxrttlmcvd57u6jdfe8k7dnvq35f4jenz6g3mq0rqlrv"))
        XCTAssertThrowsError(try AgeIdentity(parsing: good))
        XCTAssertThrowsError(try AgeIdentity(parsing: "AGE-SECRET-KEY-PQ-1XYZ"))
        // Non-zero padding bits in the last 5-bit group are rejected.
        XCTAssertNil(Bech32.decode("a1qqqqqqqqqqqqqqpqqqqqqq"))
    }

    /// An X25519 key whose Bech32 data begins with "pq" or "tag" is an X25519 key (CI once generated
    /// `age1pqfwfu…` for a machine and fleet refused it as post-quantum); `age1pq1…`/`age1tag1…` are not.
    func testX25519KeysLookingLikePostQuantumPrefixesParse() throws {
        // 5-bit groups: "pq" = 1, 0 (0x08 0x00 …); "tag" = 11, 29, 8 (0x5F 0x50 …).
        for head: [UInt8] in [[0x08, 0x00], [0x5F, 0x50]] {
            let key = head + Array(repeating: 0x42, count: 30)
            let s = Bech32.encode(hrp: "age", data: key)
            XCTAssertTrue(s.hasPrefix("age1pq") || s.hasPrefix("age1tag"), s)
            XCTAssertEqual(try AgeRecipient(parsing: s).publicKey, key, s)
        }
        for pq in [Bech32.encode(hrp: "age1pq", data: Array(repeating: 7, count: 64)),
                   Bech32.encode(hrp: "age1tag", data: Array(repeating: 7, count: 33)), "age1pq1xyz"] {
            XCTAssertThrowsError(try AgeRecipient(parsing: pq)) { e in
                XCTAssertTrue("\(e)".contains("post-quantum/tag"), "\(pq): \(e)")
            }
        }
    }

    func testGeneratedKeysRoundTrip() throws {
        for _ in 0..<20 {
            let id = AgeIdentity.generate()
            XCTAssertEqual(id.encoded.count, 74)
            XCTAssertTrue(id.encoded.hasPrefix("AGE-SECRET-KEY-1"))
            XCTAssertEqual(id.recipient.encoded.count, 62)
            XCTAssertEqual(try AgeIdentity(parsing: id.encoded).recipient, id.recipient)
        }
    }

    func testIdentityFileParsing() throws {
        let a = AgeIdentity.generate(), b = AgeIdentity.generate()
        let text = "# created: x\n# public key: \(a.recipient)\n\(a.encoded)\n\n\(b.encoded)\r\nAGE-PLUGIN-YUBIKEY-1XYZ\n"
        XCTAssertEqual(try AgeIdentity.parseFile(text).map(\.recipient), [a.recipient, b.recipient])
        XCTAssertThrowsError(try AgeIdentity.parseFile("garbage\n", source: "keys.txt")) { e in
            XCTAssertTrue("\(e)".contains("keys.txt") && "\(e)".contains("line 1"), "\(e)")
        }
    }

    func testArmorWriterAtLineBoundaries() throws {
        for n in [0, 1, 47, 48, 49, 95, 96, 97, 480] {
            let bin = AgeTestSupport.bytes(n)
            let text = String(decoding: Age.armor(bin), as: UTF8.self)
            XCTAssertTrue(text.hasPrefix("-----BEGIN AGE ENCRYPTED FILE-----\n"))
            XCTAssertTrue(text.hasSuffix("\n-----END AGE ENCRYPTED FILE-----\n"), "n=\(n)")
            XCTAssertFalse(text.contains("\n\n"), "empty line before END for n=\(n) (age#263)")
            let body = text.split(separator: "\n").dropFirst().dropLast()
            for (i, l) in body.enumerated() { XCTAssertTrue(i == body.count - 1 ? l.count <= 64 : l.count == 64) }
            if n > 0 {
                let d = AgeArmor.Decoder()
                XCTAssertEqual(try d.update(Array(text.utf8)) + d.finish(), bin, "n=\(n)")
            }
        }
    }

    func testArmorReaderTolerances() throws {
        let id = AgeIdentity.generate()
        let armored = String(decoding: try Age.encrypt(Array("data".utf8), to: [id.recipient], armor: true), as: UTF8.self)
        let variants = [
            armored.replacingOccurrences(of: "\n", with: "\r\n"),          // CRLF
            String(armored.dropLast()),                                     // no final LF (sops's test key)
            "  \n\t\n" + armored + "\n \n",                                 // outer whitespace
        ]
        for v in variants { XCTAssertEqual(try Age.decrypt(Array(v.utf8), with: [id]), Array("data".utf8)) }
        let rejects = [
            armored.replacingOccurrences(of: "-----BEGIN AGE", with: "-----BEGIN age"),
            armored + "garbage",
            String(repeating: " ", count: 2000) + armored,
            armored.replacingOccurrences(of: "-----END", with: "\n-----END"),
        ]
        for r in rejects {
            XCTAssertThrowsError(try Age.decrypt(Array(r.utf8), with: [id]))
        }
    }

    /// sops's own armored test vector (`mockEncryptedKey` in getsops/sops age/keysource_test.go,
    /// MPL-2.0) has no trailing LF and decrypts to "data".
    func testSopsMockEncryptedKey() throws {
        let id = try AgeIdentity(parsing: "AGE-SECRET-KEY-1G0Q5K9TV4REQ3ZSQRMTMG8NSWQGYT0T7TZ33RAZEE0GZYVZN0APSU24RK7")
        XCTAssertEqual(id.recipient.encoded, "age1lzd99uklcjnc0e7d860axevet2cz99ce9pq6tzuzd05l5nr28ams36nvun")
        let mock = """
            -----BEGIN AGE ENCRYPTED FILE-----
            YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBvY2t2NkdLUGRvY3l2OGNy
            MVJWcUhCOEZrUG8yeCtnRnhxL0I5NFk4YjJFCmE4SVQ3MEdyZkFqRWpSa2F0NVhF
            VDUybzBxdS9nSGpHSVRVMUI0UEVqZkkKLS0tIGJjeGhNQ0Y5L2VZRVVYSm90djFF
            bzdnQ3UwTGljMmtrbWNMV1MxYkFzUFUK4xjOZOTGdcbzuwUY/zeBXhcF+Md3e5PQ
            EylloI7MNGbadPGb
            -----END AGE ENCRYPTED FILE-----
            """
        XCTAssertEqual(try Age.decrypt(Array(mock.utf8), with: [AgeIdentity.generate(), id]), Array("data".utf8))
    }

    func testStanzaWriterEndsWithShortLine() {
        let s = AgeStanza(type: "test", args: ["a"], body: Array(repeating: 7, count: 48))
        let text = String(decoding: s.encoded(), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 4)   // arg line, 64 chars, empty line, trailing ""
        XCTAssertEqual(lines[1].count, 64)
        XCTAssertEqual(lines[2], "")
        let empty = AgeStanza(type: "x", args: [], body: [])
        XCTAssertEqual(String(decoding: empty.encoded(), as: UTF8.self), "-> x\n\n")
    }

    func testChunkingAtBoundaries() throws {
        let id = AgeIdentity.generate()
        for (size, chunks) in [(0, 1), (1, 1), (65_535, 1), (65_536, 1), (65_537, 2), (131_072, 2), (200_000, 4)] {
            let pt = AgeTestSupport.bytes(size)
            let ct = try Age.encrypt(pt, to: [id.recipient])
            let header = try XCTUnwrap(try AgeHeader.parse(ct, atEOF: true))
            XCTAssertEqual(ct.count - header.length - 16, size + 16 * chunks, "size \(size)")
            XCTAssertEqual(try Age.decrypt(ct, with: [id]), pt)
            // Streamed decryption in small pieces gives the same bytes.
            let d = AgeDecryptor(identities: [id])
            var out: [UInt8] = []
            var i = 0
            while i < ct.count { let n = min(1000, ct.count - i); out += try d.update(Array(ct[i..<i + n])); i += n }
            out += try d.finish()
            XCTAssertEqual(out, pt)
        }
    }

    /// Streaming really streams: output appears per chunk, before the input ends.
    func testEncryptorAndDecryptorEmitIncrementally() throws {
        let id = AgeIdentity.generate()
        let e = try AgeEncryptor(recipients: [id.recipient])
        var ct: [UInt8] = []
        let piece = AgeTestSupport.bytes(65_536 * 3 + 5)
        let first = try e.update(piece)
        XCTAssertGreaterThanOrEqual(first.count, 3 * 65_552, "three full chunks must be emitted before finish")
        ct += first
        ct += try e.update(piece)
        ct += try e.finish()
        let d = AgeDecryptor(identities: [id])
        let early = try d.update(Array(ct.prefix(ct.count / 2)))
        XCTAssertGreaterThan(early.count, 65_536, "authenticated chunks must come out before the input ends")
        let rest = try d.update(Array(ct.dropFirst(ct.count / 2))) + d.finish()
        XCTAssertTrue(early + rest == piece + piece)
    }

    func testFlippingAnyHeaderByteFails() throws {
        let id = AgeIdentity.generate()
        let ct = try Age.encrypt(Array("payload".utf8), to: [id.recipient, AgeIdentity.generate().recipient])
        let header = try XCTUnwrap(try AgeHeader.parse(ct, atEOF: true))
        for i in 0..<header.length {
            var t = ct; t[i] ^= 0x01
            XCTAssertThrowsError(try Age.decrypt(t, with: [id]), "byte \(i)")
        }
        // A header with a bad MAC is an HMAC failure and releases nothing.
        var t = ct
        t[header.macInputLength + 5] = t[header.macInputLength + 5] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        XCTAssertThrowsError(try Age.decrypt(t, with: [id])) { e in
            if case AgeError.hmac = e {} else if case AgeError.header = e {} else { XCTFail("\(e)") }
        }
    }

    func testHeaderMACCheckedBeforePlaintext() throws {
        let id = AgeIdentity.generate()
        var ct = try Age.encrypt(AgeTestSupport.bytes(200_000), to: [id.recipient])
        let header = try XCTUnwrap(try AgeHeader.parse(ct, atEOF: true))
        // Rewrite the MAC to a different valid-looking value: no chunk may come out.
        let other = Base64Strict.encodeBytes([UInt8](repeating: 9, count: 32), padded: false)
        ct.replaceSubrange(header.macInputLength + 1..<header.length - 1, with: other)
        let d = AgeDecryptor(identities: [id])
        XCTAssertThrowsError(try d.update(ct)) { e in XCTAssertEqual(e as? AgeError, .hmac) }
    }
}
