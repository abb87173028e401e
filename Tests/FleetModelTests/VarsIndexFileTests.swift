import Crypto
@testable import FleetModel
import Foundation
import XCTest

/// `VarsIndexFile` / `VarsIndexView`: the memory-mapped index answers exactly what was written, for
/// every path and no other, and a file whose layout does not hold up reads as no index.
final class VarsIndexFileTests: XCTestCase {
    private func stamp(_ i: Int) -> FileStamp {
        FileStamp(dev: 7, ino: UInt64(1000 + i), mode: UInt32(i % 3 == 0 ? 0o040755 : 0o100644), size: Int64(i * 13),
                  mtimeNs: 1_700_000_000_000_000_000 + Int64(i), ctimeNs: 1_700_000_000_000_000_500 + Int64(i))
    }

    /// Every kind of fact, with payloads that repeat (recipient lists, link lists) and ones that do not.
    private func table(_ n: Int) -> [String: StampedFact] {
        let keys = (0..<50).map { SopsKeyRef("age1key\($0)", kind: $0 % 7 == 0 ? .pgp : .age) }
        var t: [String: StampedFact] = [:]
        for i in 0..<n {
            let m = "machine-\(i % 97)"
            let fact: VarsFact
            switch i % 7 {
            case 0: fact = .recipients([keys[i % 50], keys[(i + 1) % 50]].sorted())
            case 1: fact = .keys([keys[i % 13]])
            case 2: fact = .links([VarsLink(name: m, target: "/clan/sops/machines/\(m)"), VarsLink(name: "admin", target: "/clan/sops/users/admin")])
            case 3: fact = .names(i % 2 == 0 ? [] : ["a", "b\(i % 5)", "ü-\(i % 3)"])
            case 4: fact = .text(String(repeating: "h", count: i % 40))
            case 5: fact = .unreadable("vars/x/\(i): cannot read file")
            default: fact = .bytes(Array("ssh-ed25519 AAAA\(i)\n".utf8) + (i % 2 == 0 ? [0, 255] : []))
            }
            t["vars/per-machine/\(m)/gen-\(i % 10)/f\(i)/secret"] = StampedFact(stamp: stamp(i), fact: fact)
        }
        t["a"] = StampedFact(stamp: stamp(n), fact: .names([]))  // shorter than a hash word
        return t
    }

    func testEveryEntryIsFoundWithItsStampAndFactAndNothingElse() throws {
        let t = table(5000)
        let bytes = VarsIndexFile.encode(t, clanDirectory: "/clan")
        let view = try XCTUnwrap(VarsIndexView(bytes: bytes, clanDirectory: "/clan"))
        XCTAssertEqual(view.count, t.count)
        for (path, e) in t {
            let i = try XCTUnwrap(view.find(path), path)
            XCTAssertEqual(view.path(i), path)
            XCTAssertEqual(view.stamp(i), e.stamp, path)
            XCTAssertEqual(view.fact(view.factKey(i)), e.fact, path)
        }
        for absent in ["", "b", "vars", "vars/per-machine/machine-1/gen-1/f1/secre", "vars/per-machine/machine-1/gen-1/f1/secret/",
                       "/vars/per-machine/machine-1/gen-1/f1/secret", "vars/per-machine/machine-1/gen-1/f5001/secret"] {
            XCTAssertNil(view.find(absent), absent)
        }
        XCTAssertEqual(VarsIndexFile.decode(bytes, clanDirectory: "/clan"), t)
        XCTAssertNil(VarsIndexView(bytes: bytes, clanDirectory: "/clan2"))
        let empty = VarsIndexFile.encode([:], clanDirectory: "/clan")
        XCTAssertEqual(VarsIndexView(bytes: empty, clanDirectory: "/clan")?.count, 0)
        XCTAssertNil(VarsIndexView(bytes: empty, clanDirectory: "/clan")?.find("a"))
    }

    /// `write` writes the body from its parts (no body or sealed copy in memory): the file must be
    /// byte for byte `encode`'s, header and checksum included.
    func testWrittenFileIsTheSealedEncoding() throws {
        let t = table(5000)
        let path = try makeTempDir(self) + "/index.bin"
        VarsIndexFile.write(t, to: path, clanDirectory: "/clan")
        let written = try XCTUnwrap(FileBytes.read(path))
        let sealed = VarsIndexFile.encode(t, clanDirectory: "/clan")
        XCTAssertEqual(written.count, sealed.count)
        XCTAssertTrue(written == sealed, "the streamed index differs from the sealed encoding")
        XCTAssertEqual(VarsIndexFile.open(path, clanDirectory: "/clan")?.count, t.count)
    }

    func testEqualPayloadsAreStoredOnce() throws {
        let r = VarsFact.recipients([SopsKeyRef("age1a"), SopsKeyRef("age1b")])
        var t: [String: StampedFact] = [:]
        for i in 0..<1000 { t["s\(i)"] = StampedFact(stamp: stamp(i), fact: r) }
        t["k"] = StampedFact(stamp: stamp(1), fact: .keys([SopsKeyRef("age1a"), SopsKeyRef("age1b")]))
        let view = try XCTUnwrap(VarsIndexView(bytes: VarsIndexFile.encode(t, clanDirectory: "/c"), clanDirectory: "/c"))
        let keys = Set((0..<1000).map { view.factKey(view.find("s\($0)")!) })
        XCTAssertEqual(keys.count, 1, "one payload for 1000 equal recipient lists")
        let k = view.factKey(view.find("k")!)
        XCTAssertFalse(keys.contains(k), "same bytes, another kind: another fact")
        XCTAssertEqual(view.fact(k), .keys([SopsKeyRef("age1a"), SopsKeyRef("age1b")]))
        XCTAssertEqual(view.fact(keys.first!), r)
    }

    /// A file that passes its checksum but whose sections do not fit (a writer bug, not bit rot) never
    /// opens, and a payload offset outside the payloads decodes as nothing (the file is read instead).
    func testSealedButInconsistentLayoutsDoNotOpen() throws {
        let t = table(40)
        let sealed = VarsIndexFile.encode(t, clanDirectory: "/c")
        let body = Array(sealed[BinaryCacheFile.headerSize...])
        let countsAt = 4 + "/c".utf8.count  // entry count, slot count, string count follow the clan directory
        func reseal(_ edit: (inout [UInt8]) -> Void) -> [UInt8] {
            var b = body
            edit(&b)
            return BinaryCacheFile.seal(b, magic: VarsIndexFile.magic, version: VarsIndexFile.version)
        }
        func put(_ b: inout [UInt8], _ at: Int, _ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { for (k, x) in $0.enumerated() { b[at + k] = x } } }
        XCTAssertNotNil(VarsIndexView(bytes: reseal { _ in }, clanDirectory: "/c"))
        let bad: [(String, [UInt8])] = [
            ("more entries than slots allow", reseal { put(&$0, countsAt, 1000) }),
            ("slot count not a power of two", reseal { put(&$0, countsAt + 4, 96) }),
            ("string count past the end", reseal { put(&$0, countsAt + 8, 0x7FFF_FFFF) }),
            ("trailing bytes", reseal { $0.append(0) }),
            ("cut short", reseal { $0.removeLast(3) }),
        ]
        for (what, bytes) in bad { XCTAssertNil(VarsIndexView(bytes: bytes, clanDirectory: "/c"), what) }

        let view = try XCTUnwrap(VarsIndexView(bytes: sealed, clanDirectory: "/c"))
        XCTAssertNil(view.fact(UInt64(VarsIndexFile.Kind.recipients.rawValue) << 32 | 0xFFFF_FF00))
        XCTAssertNil(view.fact(UInt64(99) << 32))
    }

    /// The checksum (also the index's path hash: home slots and tags) and the encoded index are pinned
    /// to the bytes of index v4 as first written: a change to the hash or to the writer's order would
    /// leave every stored index unreadable or its paths unfindable, silently (a cold run each time).
    /// Values from the implementation before `BinaryCacheFile.Checksum` became the one checksum.
    func testChecksumAndIndexBytesArePinned() throws {
        let pinned: [([UInt8], UInt64)] = [
            ([], 0xF7E2_7BED_97B0_321E),
            (Array("a".utf8), 0x30F3_44BB_B8CE_4F7E),
            (Array("vars/per".utf8), 0x8971_181D_016C_C0F9),
            (Array("vars/per-machine/m0001/gen-3/key/secret".utf8), 0x5025_2D41_3D31_CA6C),
            ((0..<3).flatMap { _ in (0...255).map { UInt8($0) } } + Array("xyz".utf8), 0x0C9D_2ED3_0D14_5F0E),
        ]
        for (bytes, sum) in pinned {
            XCTAssertEqual(VarsIndexFile.checksum(bytes), sum, "\(bytes.count) bytes")
            XCTAssertEqual(bytes.withUnsafeBytes { BinaryCacheFile.checksum($0) }, sum, "\(bytes.count) bytes")
        }
        // The file as index v4 wrote it, but for the version in its header (5 since 34f180e, same layout).
        let encoded = VarsIndexFile.encode(table(5000), clanDirectory: "/clan")
        XCTAssertEqual(encoded.count, 713_706)
        XCTAssertEqual(Array(encoded[8..<12]), withUnsafeBytes(of: VarsIndexFile.version.littleEndian) { Array($0) })
        var v4 = encoded
        v4.replaceSubrange(8..<12, with: [4, 0, 0, 0])
        XCTAssertEqual(SHA256.hash(data: v4).map { String(format: "%02x", $0) }.joined(),
                       "93394d29305d42a67e7f5ffdb867e0ab58bbc6dc0020d9865a29a5f4d33541d4")
    }

    /// Entries handed over in any order, with repeated paths (another reader's read of the same file,
    /// a stored fact and the fresh one replacing it): the first of equal paths is kept, and the file is
    /// the one written from the table of those first entries.
    func testEntriesInAnyOrderFirstOfEqualPathsKept() throws {
        let t = table(3000)
        var rng = SystemRandomNumberGenerator()
        var entries = t.map { (path: $0.key, fact: $0.value) }.shuffled(using: &rng)
        var firsts = t
        for k in stride(from: 0, to: 600, by: 3) {  // later duplicates with other facts: dropped
            entries.insert((entries[k].path, StampedFact(stamp: stamp(k + 9000), fact: .text("dup"))), at: Int.random(in: (k + 1)...entries.count, using: &rng))
        }
        for k in 0..<50 {  // earlier duplicates: kept
            let p = entries[entries.count - 1 - k].path
            let f = StampedFact(stamp: stamp(k + 7000), fact: .text("first"))
            entries.insert((p, f), at: 0)
            firsts[p] = f
        }
        let path = try makeTempDir(self) + "/index.bin"
        XCTAssertEqual(VarsIndexFile.write(entries, to: path, clanDirectory: "/clan"), firsts.count)
        XCTAssertTrue(try XCTUnwrap(FileBytes.read(path)) == VarsIndexFile.encode(firsts, clanDirectory: "/clan"))
        XCTAssertEqual(VarsIndexFile.open(path, clanDirectory: "/clan")?.all(), firsts)
    }

    /// `SecretLinks.lexicallyNormalized` (a cold status resolves every link with it) over bytes
    /// answers what the component split it replaced did, on paths made of `/`, `.`, `..`, names with
    /// dots and non-ASCII letters.
    func testLexicallyNormalizedAgreesWithTheComponentSplit() {
        func reference(_ path: String) -> String {
            var parts: [Substring] = []
            for c in path.split(separator: "/", omittingEmptySubsequences: true) {
                if c == "." { continue }
                if c == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
                parts.append(c)
            }
            return "/" + parts.joined(separator: "/")
        }
        let pieces = ["/", "/", "//", ".", "..", "...", ".a", "a.", "..b", "sops", "machines", "ü", "m-1", "key.json"]
        var rng = SystemRandomNumberGenerator()
        var cases = ["", "/", "//", ".", "..", "/..", "/../..", "a", "a/..", "/a/b/../c/./d", "../../sops/machines/m",
                     "/c/vars/per-machine/m/g/key/machines/../../../../../../sops/machines/m"]
        for _ in 0..<3000 { cases.append((0..<Int.random(in: 1...12, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()) }
        for c in cases { XCTAssertEqual(SecretLinks.lexicallyNormalized(c), reference(c), c) }
    }

    /// `SecretLinks.parentName` (a status asks it of every new link target) over bytes answers what the
    /// component split it replaced did: the second-to-last non-empty component, `/` without one.
    func testParentNameAgreesWithTheComponentSplit() {
        func reference(_ path: String) -> Substring {
            let parts = path.split(separator: "/", omittingEmptySubsequences: true)
            return parts.count >= 2 ? parts[parts.count - 2] : "/"
        }
        let pieces = ["/", "/", "//", ".", "..", "a", "sops", "machines", "ü", "m-1", "key.json"]
        var rng = SystemRandomNumberGenerator()
        var cases = ["", "/", "//", "a", "/a", "a/", "/a/", "a/b", "/a/b", "a//b//", "/c/sops/machines/m", "/c/sops/users/ü/"]
        for _ in 0..<3000 { cases.append((0..<Int.random(in: 1...8, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()) }
        for c in cases { XCTAssertEqual(SecretLinks.parentName(c), reference(c), c) }
    }

    /// Paths share a home slot per first four components (a generator's files probe one stretch of
    /// slots): a generator directory with 300 files among 2000 other paths — one long run of probes —
    /// still finds every entry and no absent path, and the entries are stored in path order.
    func testPathsSharingAHomeSlotAreAllFoundAndEntriesAreInPathOrder() throws {
        var t: [String: StampedFact] = [:]
        for i in 0..<300 { t["vars/per-machine/big/gen/f\(i)/secret"] = StampedFact(stamp: stamp(i), fact: .text("t\(i)")) }
        for i in 0..<2000 { t["vars/per-machine/m\(i)/g\(i % 10)/key/secret"] = StampedFact(stamp: stamp(i + 300), fact: .text("u\(i % 17)")) }
        for i in 0..<50 { t["sops/machines/m\(i)/key.json"] = StampedFact(stamp: stamp(i + 2300), fact: .keys([SopsKeyRef("age1k\(i)")])) }
        let bytes = VarsIndexFile.encode(t, clanDirectory: "/c")
        let view = try XCTUnwrap(VarsIndexView(bytes: bytes, clanDirectory: "/c"))
        for (path, e) in t {
            let i = try XCTUnwrap(view.find(path), path)
            XCTAssertEqual(view.path(i), path)
            XCTAssertEqual(view.stamp(i), e.stamp, path)
            XCTAssertEqual(view.fact(view.factKey(i)), e.fact, path)
        }
        for i in 300..<400 { XCTAssertNil(view.find("vars/per-machine/big/gen/f\(i)/secret")) }
        XCTAssertNil(view.find("vars/per-machine/big/gen/.validation-hash"))
        XCTAssertNil(view.find("vars/per-machine/big/gen"))
        let paths = (0..<view.count).map { view.path($0)! }
        XCTAssertEqual(paths, paths.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        XCTAssertEqual(VarsIndexFile.decode(bytes, clanDirectory: "/c"), t)
    }
}
