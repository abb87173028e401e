import Foundation
import XCTest
@testable import FleetModel

/// Interop with the real `age` CLI (Debian package `age`) and with PyPI `pyrage` (rage), both
/// directions, binary and armored, one and several recipients, at the STREAM chunk boundaries.
final class AgeInteropTests: XCTestCase {
    static let sizes = [0, 1, 65_535, 65_536, 65_537, 3 * 1024 * 1024 + 17]
    static let multi = 3 * 1024 * 1024 + 17

    var tmp: URL!
    var ids: [AgeIdentity] = []

    override func setUpWithError() throws {
        tmp = try AgeTestSupport.tempDir()
        ids = (0..<3).map { _ in AgeIdentity.generate() }
        for (i, id) in ids.enumerated() {
            try id.keygenFileText().write(to: tmp.appendingPathComponent("key\(i).txt"), atomically: true, encoding: .utf8)
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func path(_ n: String) -> String { tmp.appendingPathComponent(n).path }

    func testFleetEncryptsAgeDecrypts() throws {
        for size in Self.sizes {
            let pt = AgeTestSupport.bytes(size, seed: UInt64(size) + 7)
            for recipients in [[ids[0]], ids] {
                for armor in [false, true] {
                    let ct = try Age.encrypt(pt, to: recipients.map(\.recipient), armor: armor)
                    if armor { XCTAssertTrue(ct.starts(with: Array("-----BEGIN AGE ENCRYPTED FILE-----\n".utf8))) }
                    try Data(ct).write(to: tmp.appendingPathComponent("ct"))
                    // Decrypt with the last recipient's key to prove every stanza is valid.
                    let key = path("key\(recipients.count - 1).txt")
                    let r = try AgeTestSupport.run(["age", "-d", "-i", key, path("ct")])
                    XCTAssertEqual(r.status, 0, "age -d failed for size \(size), armor \(armor): \(r.stderr)")
                    XCTAssertTrue(r.stdout == pt, "age -d output differs for size \(size), \(recipients.count) recipients, armor \(armor)")
                }
            }
        }
    }

    func testAgeEncryptsFleetDecrypts() throws {
        for size in Self.sizes {
            let pt = AgeTestSupport.bytes(size, seed: UInt64(size) + 11)
            for recipients in [[ids[0]], ids] {
                for armor in [false, true] {
                    var argv = ["age", "-e"]
                    for r in recipients { argv += ["-r", r.recipient.encoded] }
                    if armor { argv.append("-a") }
                    let r = try AgeTestSupport.run(argv, stdin: pt)
                    XCTAssertEqual(r.status, 0, r.stderr)
                    // Every identity that is a recipient decrypts; one that is not gets "no match".
                    let got = try Age.decrypt(r.stdout, with: [recipients.last!])
                    XCTAssertTrue(got == pt, "fleet decrypt differs for size \(size), armor \(armor)")
                    if recipients.count == 1 {
                        XCTAssertThrowsError(try Age.decrypt(r.stdout, with: [ids[1]])) { e in
                            guard case AgeError.noMatch = e else { return XCTFail("expected no match, got \(e)") }
                        }
                    }
                }
            }
        }
    }

    /// pyrage in one python3 process per direction (all cases at once) to keep the run short.
    func testPyrageBothDirections() throws {
        var cases: [(name: String, pt: [UInt8], recipients: [AgeIdentity], armor: Bool)] = []
        for size in Self.sizes {
            for (ri, recipients) in [[ids[0]], ids].enumerated() {
                for armor in [false, true] {
                    cases.append(("c\(size)-\(ri)-\(armor ? "a" : "b")", AgeTestSupport.bytes(size, seed: UInt64(size) + 3), recipients, armor))
                }
            }
        }
        // fleet -> pyrage: write our ciphertexts, pyrage decrypts each with the last recipient's key.
        var manifest: [String] = []
        for c in cases {
            try Data(c.pt).write(to: tmp.appendingPathComponent(c.name + ".pt"))
            try Data(try Age.encrypt(c.pt, to: c.recipients.map(\.recipient), armor: c.armor)).write(to: tmp.appendingPathComponent(c.name + ".fleet.age"))
            manifest.append([c.name, c.recipients.last!.encoded, c.recipients.map(\.recipient.encoded).joined(separator: ","), c.armor ? "1" : "0"].joined(separator: " "))
        }
        try manifest.joined(separator: "\n").write(to: tmp.appendingPathComponent("manifest"), atomically: true, encoding: .utf8)
        let script = """
            import sys, os, pyrage
            from pyrage import x25519
            d = sys.argv[1]
            bad = []
            for line in open(os.path.join(d, "manifest")).read().splitlines():
                name, ident, recips, armor = line.split(" ")
                pt = open(os.path.join(d, name + ".pt"), "rb").read()
                ct = open(os.path.join(d, name + ".fleet.age"), "rb").read()
                out = pyrage.decrypt(ct, [x25519.Identity.from_str(ident)])
                if out != pt:
                    bad.append(name)
                enc = pyrage.encrypt(pt, [x25519.Recipient.from_str(r) for r in recips.split(",")], armored=armor == "1")
                open(os.path.join(d, name + ".pyrage.age"), "wb").write(enc)
            if bad:
                print("pyrage could not decrypt: " + " ".join(bad))
                sys.exit(1)
            """
        let r = try AgeTestSupport.run(["python3", "-c", script, tmp.path])
        XCTAssertEqual(r.status, 0, "pyrage (pip install pyrage) failed: \(String(decoding: r.stdout, as: UTF8.self)) \(r.stderr)")
        // pyrage -> fleet.
        for c in cases {
            let ct = Array(try Data(contentsOf: tmp.appendingPathComponent(c.name + ".pyrage.age")))
            if c.armor { XCTAssertTrue(ct.starts(with: Array("-----BEGIN AGE ENCRYPTED FILE-----".utf8)), c.name) }
            XCTAssertTrue(try Age.decrypt(ct, with: [c.recipients.last!]) == c.pt, "fleet cannot decrypt pyrage's \(c.name)")
        }
    }

    /// The file-handle API streams: a multi-MiB file goes through it and interoperates with age.
    func testFileHandleStreamingWithAge() throws {
        let pt = AgeTestSupport.bytes(Self.multi, seed: 99)
        try Data(pt).write(to: tmp.appendingPathComponent("big"))
        for armor in [false, true] {
            _ = FileManager.default.createFile(atPath: path("big.age"), contents: nil)
            let inH = try FileHandle(forReadingFrom: tmp.appendingPathComponent("big"))
            let outH = try FileHandle(forWritingTo: tmp.appendingPathComponent("big.age"))
            try Age.encrypt(from: inH, to: outH, recipients: [ids[1].recipient], armor: armor)
            try inH.close(); try outH.close()
            let r = try AgeTestSupport.run(["age", "-d", "-i", path("key1.txt"), path("big.age")])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout == pt, "age -d of streamed output differs (armor \(armor))")

            var argv = ["age", "-e", "-r", ids[2].recipient.encoded, "-o", path("from-age.age")]
            if armor { argv.append("-a") }
            argv.append(path("big"))
            XCTAssertEqual(try AgeTestSupport.run(argv).status, 0)
            _ = FileManager.default.createFile(atPath: path("big.out"), contents: nil)
            let in2 = try FileHandle(forReadingFrom: tmp.appendingPathComponent("from-age.age"))
            let out2 = try FileHandle(forWritingTo: tmp.appendingPathComponent("big.out"))
            try Age.decrypt(from: in2, to: out2, identities: [ids[2]])
            try in2.close(); try out2.close()
            XCTAssertTrue(Array(try Data(contentsOf: tmp.appendingPathComponent("big.out"))) == pt)
        }
    }

    /// Keys interoperate with age-keygen: its identity file parses and yields the printed recipient.
    func testAgeKeygenKeysParse() throws {
        let r = try AgeTestSupport.run(["age-keygen", "-o", path("gen.txt")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = try String(contentsOfFile: path("gen.txt"), encoding: .utf8)
        let parsed = try AgeIdentity.parseFile(text)
        XCTAssertEqual(parsed.count, 1)
        let pub = text.split(separator: "\n").first { $0.hasPrefix("# public key: ") }!.dropFirst("# public key: ".count)
        XCTAssertEqual(parsed[0].recipient.encoded, String(pub))
        // And age-keygen -y derives the same recipient from our generated identity.
        let y = try AgeTestSupport.run(["age-keygen", "-y", path("key0.txt")])
        XCTAssertEqual(String(decoding: y.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), ids[0].recipient.encoded)
    }
}
