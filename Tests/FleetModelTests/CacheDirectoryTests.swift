import Foundation
import XCTest
@testable import FleetModel

/// Every file fleet keeps in its cache directory is written one way (`CacheDirectory.write`): private
/// (0600, whatever the umask), the exact bytes, by rename from a temporary sibling of its own.
final class CacheDirectoryTests: XCTestCase {
    private func tempDir() -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-cachedir-\(UUID().uuidString.prefix(8))").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    private func mode(_ path: String) -> mode_t {
        var st = stat()
        XCTAssertEqual(lstat(path, &st), 0, path)
        return st.st_mode & 0o7777
    }

    /// The flake-keyed JSON caches and the binary caches: same bytes as before (compact JSON, the
    /// sealed body), mode 0600 under a umask of 022, a new cache directory 0700, no temporary left.
    func testEveryCacheFileIsWrittenPrivatelyWithItsExactBytes() throws {
        let old = umask(0o022)
        defer { umask(old) }
        let base = tempDir()
        let flake = base + "/flake", cache = base + "/cache/fleet"
        try FileManager.default.createDirectory(atPath: flake, withIntermediateDirectories: true)
        try "{ }".write(toFile: flake + "/flake.nix", atomically: true, encoding: .utf8)

        let systems = try XCTUnwrap(FlakeSystemCache(builder: .flake(flake), directory: cache))
        systems.store(key: "k1", systems: ["web": "/nix/store/aaa-web", "db": "/nix/store/bbb-db"])
        XCTAssertEqual(try String(contentsOfFile: systems.file, encoding: .utf8),
                       #"{"builder":"flake(\"\#(flake)\")","directory":"\#(flake)","key":"k1","systems":{"db":"/nix/store/bbb-db","web":"/nix/store/aaa-web"}}"#)
        XCTAssertEqual(systems.load(key: "k1"), ["web": "/nix/store/aaa-web", "db": "/nix/store/bbb-db"])

        let deploy = try XCTUnwrap(DeployConfigCache(flake: flake, directory: cache))
        let machines = try JSONParser.parse(Array(#"{"alpha": {"targetHost": "root@alpha"}}"#.utf8))
        deploy.store(key: "k2", machines: machines, exports: nil)
        XCTAssertEqual(try String(contentsOfFile: deploy.file, encoding: .utf8),
                       #"{"flake":"\#(flake)","directory":"\#(flake)","key":"k2","machines":{"alpha":{"targetHost":"root@alpha"}},"exports":null}"#)

        let inventory = InventoryCache(directory: cache)
        try inventory.store(flakeDirectory: flake, key: "k3", serialization: Array(#"{"machines": {}}"#.utf8))
        XCTAssertEqual(inventory.load(flakeDirectory: flake, key: "k3"), Array(#"{"machines":{}}"#.utf8))

        let sealed = BinaryCacheFile.seal(Array("body".utf8), magic: Array("TESTTEST".utf8), version: 1)
        XCTAssertTrue(BinaryCacheFile.write(sealed, to: cache + "/test.bin"))
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: cache + "/test.bin"))), sealed)

        let files = try FileManager.default.contentsOfDirectory(atPath: cache).sorted()
        XCTAssertEqual(files.count, 4, "no temporary file left: \(files)")
        XCTAssertFalse(files.contains { $0.contains(".tmp") }, "\(files)")
        for f in files { XCTAssertEqual(mode(cache + "/" + f), 0o600, f) }
        XCTAssertEqual(mode(cache), 0o700, "a cache directory fleet creates is private")
    }

    /// Two writers of one file in one process (two background tasks storing the same flake's cache)
    /// each write a temporary of their own: the file is always one writer's whole content, never a
    /// mix (a shared `<file>.tmp-<pid>` let one truncate and overwrite the other's half-written file).
    func testConcurrentWritersOfOneFileLeaveOneWholeVersion() throws {
        let path = tempDir() + "/shared.bin"
        let size = 1 << 20
        let contents = (0..<4).map { [UInt8](repeating: UInt8(0x41 + $0), count: size) }
        for round in 0..<40 {
            DispatchQueue.concurrentPerform(iterations: contents.count) { i in
                // In pieces, as the fleet and vars index files are written: one write(2) each.
                contents[i].withUnsafeBytes { raw in
                    let pieces = stride(from: 0, to: size, by: 8192).map { UnsafeRawBufferPointer(rebasing: raw[$0..<min($0 + 8192, size)]) }
                    _ = BinaryCacheFile.write(pieces: pieces, to: path)
                }
            }
            let got = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            XCTAssertTrue(contents.contains(got), "round \(round): a torn file of \(got.count) bytes, first \(got.first ?? 0), last \(got.last ?? 0)")
            if !contents.contains(got) { break }
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
        XCTAssertEqual(left, ["shared.bin"])
    }

    /// A temporary name is created, never opened through whatever is already there: a symlink at
    /// the name the writer used to pick (`<file>.tmp-<pid>`) leads nowhere.
    func testTheTemporaryIsNeverASymlinkFollowed() throws {
        let dir = tempDir()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let victim = dir + "/victim", path = dir + "/systems.json"
        try "untouched".write(toFile: victim, atomically: false, encoding: .utf8)
        XCTAssertEqual(symlink(victim, path + ".tmp-\(getpid())"), 0)
        XCTAssertTrue(BinaryCacheFile.write(Array("new".utf8), to: path))
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "untouched")
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "new")
    }
}

/// Pruning fleet's cache directory: caches keyed by a directory that is gone go, everything else stays.
final class CacheDirectoryPruneTests: XCTestCase {
    private func tempDir() throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-prune-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    private func names(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    }

    /// Every kind of cache file keyed by a directory, made by fleet's own writers for a demo copy that
    /// is still there and one that is gone (as after a fleet upgrade or a test's copy).
    func testCachesOfGoneDirectoriesArePrunedAndNothingElse() throws {
        let base = try tempDir()
        let cache = base + "/cache", kept = base + "/demo-kept", gone = base + "/demo-gone", outside = base + "/outside"
        let linked = base + "/demo-linked"
        for d in [cache, kept, gone, outside, linked] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        var inv = try DirectoryInventoryLoader(directory: InventoryFixtures.demo).load()
        let fleets = ResolvedFleetCache(directory: cache)
        for dir in [kept, gone] {
            inv.clanDirectory = dir
            var enc = FleetCacheFile.Encoder()
            XCTAssertTrue(BinaryCacheFile.write(enc.encode(inv, addresses: nil, source: dir, identity: [nil, nil, nil]), to: fleets.file(for: dir)))
            XCTAssertTrue(BinaryCacheFile.write(Array("rendering".utf8), to: fleets.renderingFile("list-json", for: dir)))
            let index = try XCTUnwrap(VarsStatusIndex(clanDirectory: dir, cacheDirectory: cache).file)
            XCTAssertTrue(BinaryCacheFile.write(VarsIndexFile.encode([:], clanDirectory: dir), to: index))
            try InventoryCache(directory: cache).store(flakeDirectory: dir, key: "k", serialization: Array(#"{"machines": {}}"#.utf8))
            try FileManager.default.createDirectory(atPath: dir + "/flake", withIntermediateDirectories: true)
            try XCTUnwrap(FlakeSystemCache(builder: .flake("path:" + dir + "/flake"), directory: cache)).store(key: "k", systems: [:])
            try XCTUnwrap(DeployConfigCache(flake: dir + "/flake", directory: cache)).store(key: "k", machines: .object([:]), exports: nil)
        }
        let goneSystems = (try XCTUnwrap(FlakeSystemCache(builder: .flake("path:" + gone + "/flake"), directory: cache)).file as NSString).lastPathComponent
        let goneDeploy = (try XCTUnwrap(DeployConfigCache(flake: gone + "/flake", directory: cache)).file as NSString).lastPathComponent
        let goneFleet = (fleets.file(for: gone) as NSString).lastPathComponent
        let goneIndex = ((VarsStatusIndex(clanDirectory: gone, cacheDirectory: cache).file ?? "") as NSString).lastPathComponent
        // What is not fleet's to prune: a symlink named like a gone directory's fleet file (to such a
        // file outside), a file whose name does not match the path it holds, other names, the demo's own.
        inv.clanDirectory = linked
        var enc = FleetCacheFile.Encoder()
        XCTAssertTrue(BinaryCacheFile.write(enc.encode(inv, addresses: nil, source: linked, identity: [nil, nil, nil]), to: outside + "/fleet.bin"))
        XCTAssertEqual(symlink(outside + "/fleet.bin", fleets.file(for: linked)), 0)
        try FileManager.default.copyItem(atPath: cache + "/" + goneIndex, toPath: cache + "/vars-index-000000000000000000000000.bin")
        // (A systems file from before it recorded its flake: left.)
        for other in ["notes.txt", "systems-0123456789abcdef01234567.json", "demo-5d3dda1e4f3a5fe3.lock"] {
            try Data(#"{"key":"k","systems":{}}"#.utf8).write(to: URL(fileURLWithPath: cache + "/" + other))
        }
        // Temporaries: one of a dead writer an hour and more old, one of this (live) process, one fresh.
        let deadPid: pid_t = 999_999_999
        let oldTmp = goneIndex + ".tmp-\(deadPid)", liveTmp = goneIndex + ".tmp-\(getpid())-ab12", freshTmp = goneIndex + ".tmp-\(deadPid)-cd34"
        for t in [oldTmp, liveTmp, freshTmp] { try Data("t".utf8).write(to: URL(fileURLWithPath: cache + "/" + t)) }
        let past = Date().addingTimeInterval(-2 * CacheDirectory.staleTemporaryAge)
        for t in [oldTmp, liveTmp] { try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: cache + "/" + t) }

        let before = try names(cache)
        try FileManager.default.removeItem(atPath: gone)
        try FileManager.default.removeItem(atPath: linked)
        let removed = CacheDirectory.pruneStale(cache)

        let inventoryGone = "inventory-" + String(goneFleet.dropFirst("fleet-".count).prefix(24)) + ".json"
        XCTAssertEqual(removed.sorted(), [goneFleet, goneFleet + ".list-json", goneIndex, inventoryGone, goneSystems, goneDeploy, oldTmp].sorted())
        XCTAssertEqual(try names(cache), before.filter { !removed.contains($0) })
        XCTAssertTrue(FileManager.default.fileExists(atPath: outside + "/fleet.bin"), "a symlink is never followed")
        // The kept copy's caches still serve.
        XCTAssertNotNil(InventoryCache(directory: cache).load(flakeDirectory: kept, key: "k"))
        XCTAssertTrue(try names(cache).contains((fleets.file(for: kept) as NSString).lastPathComponent))
        XCTAssertEqual(CacheDirectory.pruneStale(cache), [], "nothing more to prune")
    }
}
