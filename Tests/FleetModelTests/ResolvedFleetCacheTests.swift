import Foundation
import XCTest
@testable import FleetModel

/// The resolved-fleet cache of directory sources: what it stores reads back as the same inventory
/// and addresses, any change to a file they were read from makes that part miss, and a damaged
/// cache file is ignored — never a wrong fleet, never a crash.
final class ResolvedFleetCacheTests: XCTestCase {
    /// Encodes `inv` (no addresses) and opens it again.
    private func roundTrip(_ inv: Inventory) throws -> Inventory {
        var enc = FleetCacheFile.Encoder()
        let path = try makeTempDir(self) + "/c.bin"
        BinaryCacheFile.write(enc.encode(inv, addresses: nil, source: inv.clanDirectory ?? "", identity: [nil, nil, nil]), to: path)
        let cached = try XCTUnwrap(CachedFleet(file: XCTUnwrap(MappedFile(path: path)), source: inv.clanDirectory ?? "", identity: [nil, nil, nil]))
        XCTAssertFalse(cached.hasAddresses)
        return cached.inventory
    }

    func testInventoryRoundTripsEveryFixtureTheDemoAndASyntheticFleet() throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: InventoryFixtures.root).sorted() where name.hasSuffix(".json") {
            guard var inv = try? InventoryFixtures.decode(name) else { continue }
            inv.clanDirectory = "/x"
            XCTAssertEqual(try roundTrip(inv), inv, name)
        }
        let demo = try DirectoryInventoryLoader(directory: InventoryFixtures.demo).load()
        XCTAssertEqual(try roundTrip(demo), demo)
        let dir = try makeTempDir(self)
        try SyntheticFleet(machines: 300, withZerotierVars: false).write(to: dir)
        let synthetic = try DirectoryInventoryLoader(directory: dir).load()
        XCTAssertEqual(try roundTrip(synthetic), synthetic)
        // Escapes, non-ASCII, unknown fields, installedAt, forwardAgent and settings that look like a wrapper survive.
        var odd = try InventoryDecoder(file: "odd").decode(#"""
        {"meta": {"name": "o\"dd é"}, "extra": [1, {"x": null}],
         "machines": {"a-b": {"description": "tab\there \\ \u00e9", "other": {"k": 1.50}, "installedAt": 1700000000,
                              "deploy": {"forwardAgent": false, "buildHost": "b@x"}},
                      "c": {"icon": "i.png", "deploy": {"forwardAgent": true, "targetHost": "root@c"}}},
         "instances": {"i": {"roles": {"r": {"machines": {"a-b": {"settings": {"imports": [{"imports": [{"imports": 1}]}]}}},
                                            "tags": ["all"], "x": true}}, "y": "z"}},
         "tags": {"t": ["a-b", "c"]}}
        """#)
        odd.clanDirectory = "/odd"
        XCTAssertEqual(try roundTrip(odd), odd)
    }

    // MARK: a fleet directory with zerotier IPs

    private func fleetDir(machines: Int = 60) throws -> (dir: String, cache: ResolvedFleetCache) {
        let dir = try makeTempDir(self)
        try SyntheticFleet(machines: machines, withZerotierVars: true).write(to: dir)
        var cache = ResolvedFleetCache(directory: try makeTempDir(self, "cache"))
        cache.settleSeconds = 0
        return (dir, cache)
    }

    /// What a start without any cache resolves.
    private func cold(_ dir: String) throws -> ResolvedFleet {
        ResolvedFleet(try DirectoryInventoryLoader(directory: dir).load())
    }

    private func assertSame(_ a: ResolvedFleet, _ b: ResolvedFleet, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.inventory, b.inventory, what, file: file, line: line)
        XCTAssertEqual(a.addresses, b.addresses, what, file: file, line: line)
        for m in a.inventory.machines.keys { XCTAssertEqual(a.roles(of: m), b.roles(of: m), what, file: file, line: line) }
    }

    /// Loads through the cache as `fleet list` does, runs the store, and says where the addresses came from.
    private func load(_ cache: ResolvedFleetCache, _ dir: String) throws -> ResolvedFleet {
        let (fleet, store) = try cache.loadFleet(source: dir)
        _ = store?()
        return fleet
    }

    func testWarmLoadEqualsColdAndReadsNoVarsFile() throws {
        let (dir, cache) = try fleetDir()
        let first = try load(cache, dir)
        XCTAssertFalse(first.addressesFromCache)
        XCTAssertGreaterThan(first.overlayIPs.count, 10, "the fixture has zerotier IPs")
        XCTAssertFalse(first.zerotier.isEmpty)
        let cached = try XCTUnwrap(cache.load(source: dir))
        XCTAssertTrue(cached.hasAddresses)
        // Warm: every value file unreadable now, yet the same addresses (they come from the cache).
        let vars = dir + "/vars"
        chmod(vars, 0o000)
        defer { chmod(vars, 0o755) }
        if getuid() != 0 {   // root reads through any mode: the stamps then still match
            let warm = try load(cache, dir)
            XCTAssertTrue(warm.addressesFromCache)
            assertSame(warm, first, "warm")
        }
        chmod(vars, 0o755)
        let warm = try load(cache, dir)
        XCTAssertTrue(warm.addressesFromCache)
        assertSame(warm, try cold(dir), "warm vs cold")
    }

    /// Each change must make the cache miss (inventory part) or its addresses miss (vars part), and
    /// the next load must equal a cold one, then be stored again.
    func testEveryChangeInvalidates() throws {
        let (dir, cache) = try fleetDir()
        _ = try load(cache, dir)
        let inv = try cold(dir).inventory
        let withIP = try XCTUnwrap(inv.machines.keys.first { FileManager.default.fileExists(atPath: ipPath(dir, $0)) })
        let withoutIP = try XCTUnwrap(inv.machines.keys.first { !FileManager.default.fileExists(atPath: ipPath(dir, $0)) })

        func expectMiss(_ what: String, addressesOnly: Bool) throws {
            if addressesOnly {
                XCTAssertNotNil(cache.load(source: dir), what)
                XCTAssertNil(cache.load(source: dir)?.all(), what)
            } else {
                XCTAssertNil(cache.load(source: dir), what)
            }
            let again = try load(cache, dir)
            XCTAssertFalse(again.addressesFromCache, what)
            assertSame(again, try cold(dir), what)
            let warm = try load(cache, dir)
            XCTAssertTrue(warm.addressesFromCache, "stored again after: \(what)")
            assertSame(warm, try cold(dir), what)
        }

        usleep(20_000)
        try rewriteSameSize(dir + "/inventory.json", from: "synthetic", to: "SYNTHETIC")
        try expectMiss("inventory.json edited in place, same size", addressesOnly: false)
        try writeFile(dir + "/systems.json", #"{"host-00001": "riscv64-linux"}"#)
        try expectMiss("systems.json replaced", addressesOnly: false)
        try FileManager.default.createDirectory(atPath: dir + "/machines/newbox", withIntermediateDirectories: true)
        try expectMiss("a machines/ entry added", addressesOnly: false)
        XCTAssertNotNil(try load(cache, dir).inventory.machines["newbox"])

        usleep(20_000)
        let ip = try XCTUnwrap(String(contentsOfFile: ipPath(dir, withIP), encoding: .utf8))
        try rewriteSameSize(ipPath(dir, withIP), from: String(ip.suffix(1)), to: ip.hasSuffix("1") ? "2" : "1")
        try expectMiss("an IP value rewritten in place, same size", addressesOnly: true)
        try FileManager.default.removeItem(atPath: ipPath(dir, withIP))
        try expectMiss("an IP value removed", addressesOnly: true)
        try FileManager.default.createDirectory(atPath: (ipPath(dir, withoutIP) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try writeFile(ipPath(dir, withoutIP), "fd00::1")
        try expectMiss("an IP value where there was none", addressesOnly: true)
        XCTAssertEqual(try load(cache, dir).overlayIP(of: withoutIP), "fd00::1")
        try writeFile(dir + "/vars/shared/zerotier-network-zerotier/network-id/value", "0123456789abcdef")
        try expectMiss("the network id replaced", addressesOnly: true)
    }

    private func ipPath(_ dir: String, _ machine: String) -> String {
        dir + "/vars/shared/zerotier-ip-\(machine)-zerotier/ip/value"
    }

    /// Overwrites bytes in place (same inode, same size): only mtime/ctime tell.
    private func rewriteSameSize(_ path: String, from: String, to: String) throws {
        var bytes = try XCTUnwrap(FileBytes.read(path))
        let f = Array(from.utf8), t = Array(to.utf8)
        XCTAssertEqual(f.count, t.count)
        let i = try XCTUnwrap((0...(bytes.count - f.count)).first { Array(bytes[$0..<($0 + f.count)]) == f })
        bytes.replaceSubrange(i..<(i + f.count), with: t)
        let fd = open(path, O_WRONLY)
        XCTAssertEqual(bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }, bytes.count)
        close(fd)
    }

    /// The dashboard's first screen validates only its own rows' files; the rest is checked after the
    /// frame, and a change there reads the files.
    func testFirstScreenRowsAreCheckedApartFromTheRest() throws {
        let (dir, cache) = try fleetDir(machines: 80)
        _ = try load(cache, dir)
        let names = Array(try cold(dir).inventory.machines.keys)
        let late = try XCTUnwrap(names[20...].first { FileManager.default.fileExists(atPath: ipPath(dir, $0)) })
        let cached = try XCTUnwrap(cache.load(source: dir))
        let fresh = ResolvedFleet.firstScreen(cached.inventory, rows: 20, cached: cached)
        XCTAssertFalse(fresh.isComplete)
        XCTAssertEqual(fresh.completed().addresses, try cold(dir).addresses, "unchanged: the rest from the cache")
        XCTAssertTrue(fresh.completed().addressesFromCache)

        try FileManager.default.removeItem(atPath: ipPath(dir, late))
        let hit = try XCTUnwrap(cache.load(source: dir))
        let first = ResolvedFleet.firstScreen(hit.inventory, rows: 20, cached: hit)
        XCTAssertFalse(first.isComplete)
        XCTAssertEqual(first.addresses.covered, Set(names.prefix(20)))
        XCTAssertNotNil(hit.firstRows(20), "the first rows' files did not change")
        let (complete, recording) = first.completedRecording()
        XCTAssertFalse(complete.addressesFromCache)
        XCTAssertNil(complete.overlayIP(of: late))
        XCTAssertEqual(complete.addresses, try cold(dir).addresses)
        XCTAssertTrue(complete.isSameLoad(as: first))
        XCTAssertNotNil(recording, "read from the files: to be stored again")
    }

    /// A hit's preview (the dashboard's first frame, before the other records are decoded) is the
    /// first rows of the whole load: machines, meta, roles, addresses, and the whole fleet's count.
    /// None for a miss, for a fleet that fits the preview, or when a first row's file changed.
    func testPreviewIsTheFirstRowsOfTheWholeHit() throws {
        let (dir, cache) = try fleetDir(machines: 80)
        var loader = InventoryLoader(source: .directory(path: dir), cache: nil, snapshots: cache)
        loader.deferSnapshotStore = true
        var previews: [FleetPreview] = []
        _ = try loader.localSnapshot(previewRows: 20) { previews.append($0) }
        XCTAssertTrue(previews.isEmpty, "a miss has no preview")
        _ = try load(cache, dir)
        let snap = try XCTUnwrap(try loader.localSnapshot(previewRows: 20) { previews.append($0) })
        let preview = try XCTUnwrap(previews.first)
        XCTAssertEqual(previews.count, 1)
        let coldFleet = try cold(dir)
        XCTAssertEqual(snap.inventory, coldFleet.inventory)
        XCTAssertEqual(preview.machineCount, 80)
        XCTAssertEqual(preview.fleet.inventory.machineList, Array(coldFleet.inventory.machineList.prefix(20)))
        XCTAssertEqual(preview.fleet.inventory.meta, coldFleet.inventory.meta)
        XCTAssertFalse(preview.fleet.isComplete)
        let whole = ResolvedFleet.firstScreen(snap.inventory, rows: 20, cached: snap.cached)
        XCTAssertEqual(preview.fleet.addresses, whole.addresses)
        XCTAssertEqual(preview.fleet.addresses.covered, Set(coldFleet.inventory.machines.keys.prefix(20)))
        for m in preview.fleet.inventory.machines.keys {
            XCTAssertEqual(preview.fleet.target(of: m), coldFleet.target(of: m), m)
            XCTAssertEqual(preview.fleet.overlayIP(of: m), coldFleet.overlayIP(of: m), m)
            XCTAssertEqual(preview.fleet.rolesHeld(of: m).map { "\($0.role) \($0.holding)" },
                           coldFleet.rolesHeld(of: m).map { "\($0.role) \($0.holding)" }, m)
        }
        previews = []
        _ = try loader.localSnapshot(previewRows: 80) { previews.append($0) }
        XCTAssertTrue(previews.isEmpty, "80 machines fit a preview of 80: no preview")
        let early = try XCTUnwrap(coldFleet.inventory.machines.keys.prefix(20).first { FileManager.default.fileExists(atPath: ipPath(dir, $0)) })
        try FileManager.default.removeItem(atPath: ipPath(dir, early))
        let again = try XCTUnwrap(try loader.localSnapshot(previewRows: 20) { previews.append($0) })
        XCTAssertTrue(previews.isEmpty, "a first row's file changed: no preview")
        XCTAssertNotNil(again.cached, "the inventory is still a hit")
    }

    /// Without a cache the first screen resolves its own rows alone (the whole fleet's resolution
    /// waits for the completion, after the first frame): the same roles, targets and overlay IPs
    /// as the whole fleet's for those rows.
    func testFirstScreenResolvesOnlyItsRowsAndAgreesWithTheWholeFleet() throws {
        let (dir, _) = try fleetDir(machines: 300)
        for inv in [try DirectoryInventoryLoader(directory: dir).load(), try DirectoryInventoryLoader(directory: InventoryFixtures.demo).load()] {
            let rows = min(40, inv.machines.count - 1)
            let first = ResolvedFleet.firstScreen(inv, rows: rows)
            XCTAssertNil(first.computedResolution, "the whole fleet is resolved after the first frame")
            let whole = ResolvedFleet(inv)
            var held = 0
            for m in inv.machines.keys.prefix(rows) {
                XCTAssertEqual(first.rolesHeld(of: m).map { "\($0.role) \($0.holding)" }, whole.rolesHeld(of: m).map { "\($0.role) \($0.holding)" }, m)
                XCTAssertEqual(first.roles(of: m), whole.roles(of: m), m)
                XCTAssertEqual(first.target(of: m), whole.target(of: m), m)
                XCTAssertEqual(first.overlayIP(of: m), whole.overlayIP(of: m), m)
                held += whole.roles(of: m).count
            }
            XCTAssertGreaterThan(held, rows, "the rows hold roles")
            XCTAssertNil(first.computedResolution)
            let later = inv.machines.keys[rows]
            XCTAssertEqual(first.roles(of: later), whole.roles(of: later), "a row below: from the whole resolution")
            XCTAssertNotNil(first.computedResolution)
            XCTAssertEqual(first.completed().addresses, whole.addresses)
        }
    }

    func testDamagedCacheFilesAreIgnored() throws {
        let (dir, cache) = try fleetDir()
        _ = try load(cache, dir)
        let path = cache.file(for: dir)
        let good = try XCTUnwrap(FileBytes.read(path))
        var flipped = good
        flipped[good.count / 2] ^= 0x10
        var otherVersion = good
        otherVersion[8] &+= 1
        let damaged: [(String, [UInt8])] = [
            ("bit flip", flipped), ("truncated", Array(good.prefix(good.count - 7))), ("header only", Array(good.prefix(32))),
            ("empty", []), ("garbage", Array(repeating: 0xAB, count: 4096)), ("other version", otherVersion),
            ("short", Array(good.prefix(5))),
        ]
        for (what, bytes) in damaged {
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            XCTAssertNil(cache.load(source: dir), what)
            let f = try load(cache, dir)
            XCTAssertFalse(f.addressesFromCache, what)
            assertSame(f, try cold(dir), what)
            XCTAssertNotNil(cache.load(source: dir), "rebuilt after: \(what)")
        }
        // Another source's cache under this source's name.
        let (other, _) = try fleetDir(machines: 5)
        _ = try load(cache, other)
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.copyItem(atPath: cache.file(for: other), toPath: path)
        XCTAssertNil(cache.load(source: dir), "another source's file")
    }

    func testFilesChangedJustNowAreNotStored() throws {
        let (dir, settled) = try fleetDir()
        var cache = settled
        cache.settleSeconds = 60
        _ = try load(cache, dir)
        XCTAssertNil(cache.load(source: dir), "inventory files younger than settleSeconds must not be cached")
        // Settled inventory, one value file fresh: the inventory is stored, its addresses are not.
        cache.settleSeconds = 0
        let recorder = VarsReadRecorder()
        let fleet = ResolvedFleet(try DirectoryInventoryLoader(directory: dir).load(), recorder: recorder)
        var reads = recorder.finish()
        let present = try XCTUnwrap(reads.firstIndex { $0.stamp != nil })
        reads[present].stamp?.ctimeNs = Int64(Date().timeIntervalSince1970 * 1e9) + 1_000_000_000
        cache.store(fleet.inventory, addresses: AddressRecording(fleet: fleet, reads: reads), source: dir,
                    identity: try XCTUnwrap(ResolvedFleetCache.identity(source: dir)))
        let hit = try XCTUnwrap(cache.load(source: dir))
        XCTAssertFalse(hit.hasAddresses)
    }

    /// Through `InventoryLoader` as the dashboard uses it: the store waits for the caller, and a hit
    /// carries the cached fleet.
    func testDeferredStoreHappensOnlyWhenRun() async throws {
        let (dir, cache) = try fleetDir()
        var loader = InventoryLoader(source: .directory(path: dir), cache: nil, snapshots: cache)
        loader.deferSnapshotStore = true
        var snaps: [InventorySnapshot] = []
        for try await s in loader.updates() { snaps.append(s) }
        XCTAssertEqual(snaps.count, 1)
        XCTAssertNil(snaps[0].cached)
        let store = try XCTUnwrap(snaps.first?.storeSnapshot)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache.file(for: dir)), "not stored before the caller runs it")
        let (complete, recording) = ResolvedFleet.firstScreen(snaps[0].inventory, rows: 10).completedRecording()
        store(try XCTUnwrap(recording))
        var again: [InventorySnapshot] = []
        for try await s in loader.updates() { again.append(s) }
        let hit = try XCTUnwrap(again.first?.cached)
        XCTAssertEqual(again.first?.inventory, snaps.first?.inventory)
        XCTAssertEqual(hit.all(), complete.addresses)
        let warm = ResolvedFleet.firstScreen(hit.inventory, rows: 10, cached: hit)
        XCTAssertNil(warm.completedRecording().recording, "all from the cache: nothing to store")
    }

    /// `localSnapshot` (the dashboard's load, on its own thread) gives what `updates()` yields with
    /// a deferred store: the fresh inventory, the store to run, then a hit; nil for a flake.
    func testLocalSnapshotIsTheDeferredStreamsSnapshot() async throws {
        let (dir, cache) = try fleetDir()
        var loader = InventoryLoader(source: .directory(path: dir), cache: nil, snapshots: cache)
        loader.deferSnapshotStore = true
        let snap = try XCTUnwrap(try loader.localSnapshot())
        var streamed: [InventorySnapshot] = []
        for try await s in loader.updates() { streamed.append(s) }
        XCTAssertEqual(streamed.count, 1)
        XCTAssertEqual(snap.inventory, streamed.first?.inventory)
        XCTAssertEqual(snap.stage, .fresh)
        XCTAssertNil(snap.cached)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache.file(for: dir)), "not stored before the caller runs it")
        let (complete, recording) = ResolvedFleet.firstScreen(snap.inventory, rows: 10).completedRecording()
        try XCTUnwrap(snap.storeSnapshot)(try XCTUnwrap(recording))
        let again = try XCTUnwrap(try loader.localSnapshot())
        XCTAssertEqual(again.inventory, snap.inventory)
        XCTAssertEqual(try XCTUnwrap(again.cached).all(), complete.addresses)
        let demo = try XCTUnwrap(try InventoryLoader(source: .demo(path: InventoryFixtures.demo), cache: nil, snapshots: nil).localSnapshot())
        XCTAssertEqual(demo.inventory.machines.count, 8)
        XCTAssertNil(try InventoryLoader(source: .flake(path: "/nonexistent/flake"), cache: nil, snapshots: nil).localSnapshot())
        // Without a deferred store, the stream stores at once (the CLI's way).
        let (dir2, cache2) = try fleetDir()
        for try await s in InventoryLoader(source: .directory(path: dir2), cache: nil, snapshots: cache2).updates() {
            XCTAssertNil(s.storeSnapshot)
        }
        XCTAssertNotNil(cache2.load(source: dir2), "stored right after the stream yielded")
    }

    /// The cold CLI encodes the store's inventory part on another thread while the addresses are
    /// resolved (`EarlyInventoryEncoding`): the file is the one a store from scratch writes.
    func testEarlyInventoryEncodingWritesTheSameFile() throws {
        let (dir, cache) = try fleetDir(machines: 300)
        let inv = try DirectoryInventoryLoader(directory: dir).load()
        let early = EarlyInventoryEncoding(inv)
        let recorder = VarsReadRecorder()
        let fleet = ResolvedFleet(inv, recorder: recorder)
        let recording = AddressRecording(fleet: fleet, reads: recorder.finish())
        let identity = try XCTUnwrap(ResolvedFleetCache.identity(source: dir))
        let path = cache.file(for: dir)
        XCTAssertNotNil(cache.store(inv, addresses: recording, source: dir, identity: identity))
        let plain = try XCTUnwrap(FileBytes.read(path))
        try FileManager.default.removeItem(atPath: path)
        XCTAssertNotNil(cache.store(inv, addresses: recording, source: dir, identity: identity, early: early))
        XCTAssertEqual(try XCTUnwrap(FileBytes.read(path)), plain)
        // Taken again (a second store): the same.
        XCTAssertNotNil(cache.store(inv, addresses: recording, source: dir, identity: identity, early: early))
        XCTAssertEqual(try XCTUnwrap(FileBytes.read(path)), plain)
        // And what `loadFleet` stores cold (early-encoded) is a hit with the same fleet.
        try FileManager.default.removeItem(atPath: path)
        let (cold, store) = try cache.loadFleet(source: dir)
        XCTAssertNotNil(store?())
        let warm = try load(cache, dir)
        XCTAssertTrue(warm.addressesFromCache)
        assertSame(warm, cold, "warm after an early-encoded store")
    }

    /// A stored rendering (`fleet list --json`'s output) is served only while its fleet file is a hit
    /// whose addresses all hold, and only with the fleet file it was made from.
    func testRenderingFollowsItsFleet() throws {
        let (dir, cache) = try fleetDir()
        XCTAssertNil(cache.rendering("out", source: dir))
        _ = try load(cache, dir)
        let first = try XCTUnwrap(cache.load(source: dir)?.checksum)
        cache.storeRendering("out", Array("rendered".utf8), source: dir, fleet: first)
        func served() -> String? { cache.rendering("out", source: dir).map { String(decoding: $0.bytes.raw, as: UTF8.self) } }
        XCTAssertEqual(served(), "rendered")
        XCTAssertNil(cache.rendering("other", source: dir))
        // An IP value rewritten: the fleet's addresses no longer hold, so neither does its rendering.
        usleep(20_000)
        let ip = try XCTUnwrap(try cold(dir).inventory.machines.keys.map { ipPath(dir, $0) }.first { FileManager.default.fileExists(atPath: $0) })
        try writeFile(ip, "fd00::2")
        XCTAssertNil(served())
        // Stored again (new addresses): the old rendering belongs to the old file.
        let (fleet, store) = try cache.loadFleet(source: dir)
        XCTAssertNil(fleet.cacheChecksum, "addresses read from vars/")
        let second = try XCTUnwrap(store?())
        XCTAssertNotEqual(second, first)
        XCTAssertNil(served())
        // A rendering made from the first fleet file is not paired with the second (a process that
        // loaded before another one stored).
        cache.storeRendering("out", Array("stale".utf8), source: dir, fleet: first)
        XCTAssertNil(served())
        cache.storeRendering("out", Array("again".utf8), source: dir, fleet: second)
        XCTAssertEqual(served(), "again")
        // Stored in pieces (as `fleet list --json` writes it): their concatenation, in order.
        cache.storeRendering("out", pieces: [Array("ag".utf8), [], Array("ai".utf8), Array("n!".utf8)], source: dir, fleet: second)
        XCTAssertEqual(served(), "again!")
        cache.storeRendering("out", Array("again".utf8), source: dir, fleet: second)
        // A full hit names the file it came from.
        let warm = try load(cache, dir)
        XCTAssertEqual(warm.cacheChecksum, second)
        // A damaged rendering file is ignored, and so is a short one.
        let path = cache.renderingFile("out", for: dir)
        var bytes = try XCTUnwrap(FileBytes.read(path))
        bytes[bytes.count - 1] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertNil(served())
        bytes[bytes.count - 1] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(served(), "again")
        try Data(bytes.prefix(40)).write(to: URL(fileURLWithPath: path))
        XCTAssertNil(served())
    }
}
