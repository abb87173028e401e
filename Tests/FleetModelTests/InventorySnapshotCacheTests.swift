import Foundation
import XCTest
@testable import FleetModel

/// The snapshot cache of directory sources: what it stores decodes to the same inventory, and any
/// change to the files it was read from makes it miss.
final class InventorySnapshotCacheTests: XCTestCase {
    private func roundTrip(_ inv: Inventory) throws -> Inventory {
        var bytes: [UInt8] = []
        InventoryEncoder.encode(inv, into: &bytes)
        var systems: [String: String] = [:]
        for m in inv.machines.values { if let s = m.system { systems[m.name] = s } }
        var back = try InventoryDecoder(file: "cache").decode(bytes: bytes, systems: systems)
        back.clanDirectory = inv.clanDirectory
        return back
    }

    func testEncoderRoundTripsEveryFixtureTheDemoAndASyntheticFleet() throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: InventoryFixtures.root).sorted() where name.hasSuffix(".json") {
            guard let inv = try? InventoryFixtures.decode(name) else { continue }
            XCTAssertEqual(try roundTrip(inv), inv, name)
        }
        let demo = try DirectoryInventoryLoader(directory: InventoryFixtures.demo).load()
        XCTAssertEqual(try roundTrip(demo), demo)
        let dir = try makeTempDir(self)
        try SyntheticFleet(machines: 300, withZerotierVars: false).write(to: dir)
        let synthetic = try DirectoryInventoryLoader(directory: dir).load()
        XCTAssertEqual(try roundTrip(synthetic), synthetic)
        // Escapes, non-ASCII, unknown fields and settings that look like a wrapper survive.
        let odd = try InventoryDecoder(file: "odd").decode(#"""
        {"meta": {"name": "o\"dd é"}, "extra": [1, {"x": null}],
         "machines": {"a-b": {"description": "tab\there \\ \u00e9", "other": {"k": 1.50}, "deploy": {"forwardAgent": false}}},
         "instances": {"i": {"roles": {"r": {"machines": {"a-b": {"settings": {"imports": [{"imports": [{"imports": 1}]}]}}},
                                            "tags": ["all"], "x": true}}, "y": "z"}}}
        """#)
        XCTAssertEqual(try roundTrip(odd), odd)
    }

    private func fleetDir() throws -> (dir: String, cache: InventorySnapshotCache) {
        let dir = try makeTempDir(self)
        try SyntheticFleet(machines: 50, withZerotierVars: false).write(to: dir)
        var cache = InventorySnapshotCache(directory: try makeTempDir(self, "cache"))
        cache.settleSeconds = 0
        return (dir, cache)
    }

    private func store(_ cache: InventorySnapshotCache, _ dir: String) throws -> Inventory {
        let id = try XCTUnwrap(InventorySnapshotCache.identity(source: dir))
        let inv = try DirectoryInventoryLoader(directory: dir).load()
        cache.store(inv, source: dir, identity: id)
        return inv
    }

    func testHitReturnsTheSameInventory() throws {
        let (dir, cache) = try fleetDir()
        XCTAssertNil(cache.load(source: dir), "nothing stored yet")
        let inv = try store(cache, dir)
        XCTAssertEqual(cache.load(source: dir), inv)
    }

    func testAnyChangeToTheFilesMisses() throws {
        let (dir, cache) = try fleetDir()
        _ = try store(cache, dir)
        // Same size, rewritten in place a tick later: mtime/ctime differ.
        usleep(50_000)
        let path = dir + "/inventory.json"
        var bytes = try XCTUnwrap(FileBytes.read(path))
        let i = try XCTUnwrap(bytes.firstIndex(of: UInt8(ascii: "1")))
        bytes[i] = UInt8(ascii: "2")
        let fd = open(path, O_WRONLY)
        XCTAssertEqual(bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }, bytes.count)
        close(fd)
        XCTAssertNil(cache.load(source: dir), "inventory.json rewritten in place")
        let fresh = try store(cache, dir)
        XCTAssertEqual(cache.load(source: dir), fresh)
        try FileManager.default.createDirectory(atPath: dir + "/machines/newbox", withIntermediateDirectories: true)
        XCTAssertNil(cache.load(source: dir), "a machines/ entry added")
        XCTAssertNotNil(try store(cache, dir).machines["newbox"])
        try writeFile(dir + "/systems.json", #"{"host-00001": "riscv64-linux"}"#)
        XCTAssertNil(cache.load(source: dir), "systems.json replaced")
    }

    func testFilesChangedJustNowAreNotStored() throws {
        let (dir, settled) = try fleetDir()
        var cache = settled
        cache.settleSeconds = 60
        _ = try store(cache, dir)
        XCTAssertNil(cache.load(source: dir), "files younger than settleSeconds must not be cached")
    }

    /// Through `InventoryLoader`: the second load of an unchanged directory comes from the snapshot.
    func testLoaderUsesTheSnapshot() async throws {
        let (dir, cache) = try fleetDir()
        let loader = InventoryLoader(source: .directory(path: dir), cache: nil, snapshots: cache)
        let first = try await loader.loadFresh()
        XCTAssertTrue(FileManager.default.fileExists(atPath: cache.file(for: dir)))
        let second = try await loader.loadFresh()
        XCTAssertEqual(first, second)
        XCTAssertEqual(second.clanDirectory, dir)
    }

    /// The dashboard defers the store until its first frame is drawn: the snapshot carries it.
    func testDeferredStoreHappensOnlyWhenRun() async throws {
        let (dir, cache) = try fleetDir()
        var loader = InventoryLoader(source: .directory(path: dir), cache: nil, snapshots: cache)
        loader.deferSnapshotStore = true
        var snaps: [InventorySnapshot] = []
        for try await s in loader.updates() { snaps.append(s) }
        XCTAssertEqual(snaps.count, 1)
        let store = try XCTUnwrap(snaps.first?.storeSnapshot)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache.file(for: dir)), "not stored before the caller runs it")
        store()
        XCTAssertEqual(cache.load(source: dir), snaps.first?.inventory)
        // A hit has nothing to store.
        var again: [InventorySnapshot] = []
        for try await s in loader.updates() { again.append(s) }
        XCTAssertNil(again.first?.storeSnapshot)
        XCTAssertEqual(again.first?.inventory, snaps.first?.inventory)
    }
}
