import Foundation
import XCTest
@testable import FleetModel

/// The resolved-fleet cache encoder writes exactly the bytes the previous one wrote
/// (`LegacyFleetCacheEncoder`): strings found again by their bytes, tag lists by their storage and
/// roles by their numbers must give the same ids in the same order; and a body sealed from pieces
/// has the checksum of the whole.
final class FleetCacheEncoderTests: XCTestCase {
    private func assertSameBytes(_ inv: Inventory, _ recording: AddressRecording?, _ what: String,
                                 file: StaticString = #filePath, line: UInt = #line) {
        let identity: [FileStamp?] = [nil, FileStamp(dev: 1, ino: 2, mode: 3, size: 4, mtimeNs: 5, ctimeNs: 6), nil]
        var legacy = LegacyFleetCacheEncoder()
        var new = FleetCacheFile.Encoder()
        let old = legacy.encode(inv, addresses: recording, source: inv.clanDirectory ?? "/x", identity: identity)
        let now = new.encode(inv, addresses: recording, source: inv.clanDirectory ?? "/x", identity: identity)
        XCTAssertEqual(now.count, old.count, what, file: file, line: line)
        XCTAssert(now == old, "\(what): first difference at byte \(zip(now, old).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(now.count, old.count))",
                  file: file, line: line)
    }

    private func recording(_ dir: String) throws -> (Inventory, AddressRecording) {
        let recorder = VarsReadRecorder()
        let fleet = ResolvedFleet(try DirectoryInventoryLoader(directory: dir).load(), recorder: recorder)
        return (fleet.inventory, AddressRecording(fleet: fleet, reads: recorder.finish()))
    }

    func testSameBytesAsTheLegacyEncoder() throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: InventoryFixtures.root).sorted() where name.hasSuffix(".json") {
            guard var inv = try? InventoryFixtures.decode(name) else { continue }
            inv.clanDirectory = "/x"
            assertSameBytes(inv, nil, name)
            assertSameBytes(inv, AddressRecording(fleet: ResolvedFleet(inv), reads: []), name + " with roles")
        }
        let (demo, demoRecording) = try recording(InventoryFixtures.demo)
        assertSameBytes(demo, nil, "demo")
        assertSameBytes(demo, demoRecording, "demo with addresses")
        let dir = try makeTempDir(self)
        try SyntheticFleet(machines: 400, withZerotierVars: true).write(to: dir)
        let (synthetic, syntheticRecording) = try recording(dir)
        XCTAssertGreaterThan(syntheticRecording.reads.count, 100)
        assertSameBytes(synthetic, syntheticRecording, "synthetic fleet with addresses")
    }

    /// Equal tag lists in separate arrays, equal lists of roles held in different ways (by name,
    /// through a user tag, through an implicit one), the same role reached twice, and strings that
    /// share a prefix or a hash bucket: every id must be the one the legacy encoder gives.
    func testSharingByStorageAndByRoleNumberGivesTheSameIDs() throws {
        var machines: [String] = []
        for i in 0..<120 {
            let cls = i % 5 == 0 ? "darwin" : "nixos"
            let tags = (i % 3 == 0 ? ["web", "prod"] : i % 3 == 1 ? ["prod", "web"] : ["web"]) + [cls, "all"]
            let desc = i % 4 == 0 ? "\"description\": \"web\\u00e9 \(i % 7)\", " : ""
            let name = "m" + String(format: "%03d", i)
            let list = tags.map { "\"\($0)\"" }.joined(separator: ", ")
            machines.append("\"\(name)\": {\(desc)\"tags\": [\(list)], \"machineClass\": \"\(cls)\"}")
        }
        var inv = try InventoryDecoder(file: "shared").decode(#"""
        {"machines": {\#(machines.joined(separator: ",\n"))},
         "instances": {
           "a": {"module": {"name": "sshd", "input": "clan-core"},
                 "roles": {"server": {"tags": {"all": {}}, "machines": {"m000": {}, "m007": {"settings": {"x": 1}}}},
                           "client": {"tags": {"web": {}}}}},
           "b": {"module": {"name": "users", "input": "clan-core"},
                 "roles": {"default": {"tags": {"prod": {}, "nixos": {}}, "machines": {"m001": {}}}}}},
         "tags": {"web": ["m001", "m002"], "ops": []}}
        """#)
        inv.clanDirectory = "/shared"
        let fleet = ResolvedFleet(inv)
        let holdings = Set(inv.machines.keys.flatMap { fleet.rolesHeld(of: $0).map(\.holding) })
        XCTAssertEqual(holdings, [.byName, .byUserTag, .byImplicitTag], "the fixture holds roles every way")
        assertSameBytes(inv, AddressRecording(fleet: fleet, reads: []), "shared lists")
    }

    /// `BinaryCacheFile.Checksum` over pieces (any split, empty pieces included) equals the checksum
    /// of the whole, and a file sealed from pieces is the file sealed from the whole.
    func testChecksumInPiecesEqualsTheChecksumOfTheWhole() throws {
        var rng = SystemRandomNumberGenerator()
        for count in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4099] {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let whole = VarsIndexFile.checksum(bytes)
            for _ in 0..<20 {
                var cuts = (0..<Int.random(in: 0...5, using: &rng)).map { _ in Int.random(in: 0...count, using: &rng) }.sorted()
                cuts = [0] + cuts + [count]
                let pieces = zip(cuts, cuts.dropFirst()).map { Array(bytes[$0..<$1]) }
                var sum = BinaryCacheFile.Checksum(count: count)
                for p in pieces { p.withUnsafeBytes { sum.add($0) } }
                XCTAssertEqual(sum.finish(), whole, "\(count) bytes cut at \(cuts)")
                let header = withPieces(pieces) { BinaryCacheFile.header(pieces: $0, magic: Array("TESTTEST".utf8), version: 3).header }
                XCTAssertEqual(header + bytes, BinaryCacheFile.seal(bytes, magic: Array("TESTTEST".utf8), version: 3))
            }
        }
        // Written from pieces, read back whole.
        let path = try makeTempDir(self) + "/sub/f.bin"
        let pieces = [Array("head".utf8), [], Array(repeating: 7, count: 10_001)]
        let sum = withPieces(pieces) { BinaryCacheFile.writeSealed(pieces: $0, magic: Array("TESTTEST".utf8), version: 3, to: path) }
        let mapped = try XCTUnwrap(MappedFile(path: path))
        let body = try XCTUnwrap(BinaryCacheFile.body(mapped.bytes, magic: Array("TESTTEST".utf8), version: 3))
        XCTAssertEqual(Array(body), pieces.flatMap { $0 })
        XCTAssertEqual(sum, ResolvedFleetCache.checksum(of: mapped.bytes))
    }

    private func withPieces<T>(_ pieces: [[UInt8]], _ body: ([UnsafeRawBufferPointer]) -> T) -> T {
        FleetCacheFile.Parts(parts: pieces).withPieces(body)
    }
}
