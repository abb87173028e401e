import Foundation
import XCTest
@testable import FleetModel

/// Deterministic mutation fuzzing of age input: thousands of damaged files must give an
/// AgeError (or, if the damage was harmless, the original plaintext) — never a crash or wrong data.
final class AgeFuzzTests: XCTestCase {
    struct Rng {
        var x: UInt64
        mutating func next() -> UInt64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    static let alphabet = Array("-> \n\r=+/Aa0X25519age-encryption.org/v1---".utf8)

    static func mutate(_ input: [UInt8], _ rng: inout Rng) -> [UInt8] {
        var b = input
        for _ in 0..<(1 + rng.int(3)) {
            let i = rng.int(b.count + 1)
            switch rng.int(7) {
            case 0 where !b.isEmpty: b[min(i, b.count - 1)] ^= UInt8(1 << rng.int(8))
            case 1: b.insert(alphabet[rng.int(alphabet.count)], at: i)
            case 2 where !b.isEmpty: b.remove(at: min(i, b.count - 1))
            case 3: b = Array(b.prefix(i))
            case 4 where !b.isEmpty:   // duplicate a slice (e.g. a whole stanza line)
                let j = min(b.count, i + rng.int(80))
                b.insert(contentsOf: b[min(i, b.count)..<j], at: min(i, b.count))
            case 5 where !b.isEmpty: b[min(i, b.count - 1)] = alphabet[rng.int(alphabet.count)]
            default: b.append(UInt8(truncatingIfNeeded: rng.next()))
            }
        }
        return b
    }

    func testMutatedAgeFilesNeverCrash() throws {
        let id = AgeIdentity.generate(), other = AgeIdentity.generate()
        let pt = AgeTestSupport.bytes(300)
        let seeds = [
            try Age.encrypt(pt, to: [id.recipient]),
            try Age.encrypt(pt, to: [other.recipient, id.recipient]),
            try Age.encrypt(pt, to: [id.recipient], armor: true),
            try Age.encrypt([], to: [id.recipient]),
        ]
        var rng = Rng(x: 0x5EED_1234_ABCD_0001)
        var errors = 0, successes = 0
        for n in 0..<4000 {
            let seed = seeds[n % seeds.count]
            let m = Self.mutate(seed, &rng)
            do {
                let out = try Age.decrypt(m, with: [id])
                successes += 1
                XCTAssertTrue(out == pt || (out.isEmpty && seed == seeds[3]), "mutation \(n) decrypted to different plaintext")
            } catch is AgeError {
                errors += 1
            } catch {
                XCTFail("mutation \(n): non-age error \(error)")
            }
        }
        XCTAssertGreaterThan(errors, 3500)
        // The streaming decryptor must also survive arbitrary chunking of damaged input.
        for n in 0..<500 {
            let m = Self.mutate(seeds[n % 3], &rng)
            let d = AgeDecryptor(identities: [id])
            var i = 0
            do {
                while i < m.count { let k = 1 + rng.int(200); _ = try d.update(Array(m[i..<min(m.count, i + k)])); i += k }
                _ = try d.finish()
            } catch is AgeError {
            } catch { XCTFail("stream mutation \(n): \(error)") }
        }
        _ = successes
    }

    func testRandomHeadersNeverCrash() {
        var rng = Rng(x: 77)
        let base = Array("age-encryption.org/v1\n-> X25519 TEiF0ypqr+bpvcqXNyCVJpL7OuwPdVwPL7KQEbFDOCc\nhjabGXwSLQ9c3S6Lw2i+S2Tu2fiwQHHslbBN6B41FLE\n--- WyJp9F/9FOZh7gJdheq2WIJcwHgYc8NIVh3ddwhrcNg\n".utf8)
        for _ in 0..<3000 {
            let m = Self.mutate(base, &rng)
            for eof in [false, true] {
                do { _ = try AgeHeader.parse(m, atEOF: eof) } catch is AgeError {} catch { XCTFail("\(error)") }
            }
        }
        // Random key strings.
        for _ in 0..<2000 {
            let s = String(decoding: Self.mutate(Array("age1qm0p4vf9jvcnn43s6l4prk8zn6cx0ep9gzvevxecv729xz540v8qa742eg".utf8), &rng), as: UTF8.self)
            _ = try? AgeRecipient(parsing: s)
            _ = try? AgeIdentity(parsing: s.uppercased())
        }
    }
}
