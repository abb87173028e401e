import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import FleetModel

/// The demo and the themes built into the binary (Plugins/EmbedFiles) are the repository's
/// `inventory/` and `themes/`, file for file and link for link, and the demo unpacks into a clan
/// directory that loads.
final class EmbeddedFilesTests: XCTestCase {
    /// path → file bytes, or "-> target" for a symlink, as the tree is on disk.
    private func tree(_ dir: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let fm = FileManager.default
        for rel in try XCTUnwrap(fm.subpaths(atPath: dir)) {
            let full = dir + "/" + rel
            if let target = try? fm.destinationOfSymbolicLink(atPath: full) {
                out[rel] = Data(("-> " + target).utf8)
            } else if let data = fm.contents(atPath: full), (try fm.attributesOfItem(atPath: full)[.type] as? FileAttributeType) == .typeRegular {
                out[rel] = data
            }
        }
        return out
    }

    private func embedded(_ files: EmbeddedFiles) -> [String: Data] {
        Dictionary(uniqueKeysWithValues: files.entries.map { e in
            (e.path, e.symlink.map { Data(("-> " + $0).utf8) } ?? e.contents ?? Data())
        })
    }

    func testDemoAndThemesAreTheRepositorysFiles() throws {
        let demo = embedded(.demo)
        XCTAssertEqual(demo, try tree(RealClan.repoRoot + "/inventory"))
        XCTAssertTrue(demo.keys.contains { $0.hasSuffix("/users/cameron") && demo[$0]!.starts(with: Data("-> ".utf8)) },
                      "clan's relative symlinks are kept as links")
        XCTAssertEqual(embedded(.themes), try tree(RealClan.repoRoot + "/themes"))
        XCTAssertFalse(EmbeddedFiles.demo.digest.isEmpty)
        XCTAssertNotEqual(EmbeddedFiles.demo.digest, EmbeddedFiles.themes.digest)
    }

    func testDemoUnpacksOnceIntoTheCacheAndLoads() throws {
        let cache = try makeTempDir(self, "cache")
        let env = ["XDG_CACHE_HOME": cache]
        let dir = try EmbeddedDemo.unpacked(environment: env)
        XCTAssertEqual(dir, cache + "/fleet/demo-" + EmbeddedFiles.demo.digest)
        XCTAssertEqual(try tree(dir), try tree(RealClan.repoRoot + "/inventory"))
        XCTAssertEqual(try DirectoryInventoryLoader(directory: dir).load().machines.count, 8)
        // Nothing half-unpacked is left beside it (only the lock this process holds); a second start reuses it.
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: cache + "/fleet")),
                       ["demo-" + EmbeddedFiles.demo.digest, "demo-" + EmbeddedFiles.demo.digest + ".lock"])
        let marker = dir + "/inventory.json"
        let before = try FileManager.default.attributesOfItem(atPath: marker)[.modificationDate] as? Date
        XCTAssertEqual(try InventorySource.demoDirectory(environment: env), dir)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: marker)[.modificationDate] as? Date, before)
        // FLEET_DEMO_DIR (make demo's writable copy) wins; the built-in one stays read-only.
        XCTAssertEqual(try InventorySource.demoDirectory(environment: env.merging(["FLEET_DEMO_DIR": "/x"]) { $1 }), "/x")
        XCTAssertThrowsError(try InventorySource.demo(path: dir).writableDirectory(environment: env))
    }

    func testUnpackFailureNamesTheDirectory() throws {
        let cache = try makeTempDir(self, "cache")
        try Data().write(to: URL(fileURLWithPath: cache + "/fleet"))   // a file where the directory goes
        XCTAssertThrowsError(try EmbeddedDemo.unpacked(environment: ["XDG_CACHE_HOME": cache])) { error in
            XCTAssertTrue("\(error)".contains("cannot unpack the built-in demo fleet into \(cache)/fleet/demo-"), "\(error)")
        }
    }

    /// Other versions' copies go, unless a running fleet holds one (its shared lock) or a fleet from
    /// before the lock may still read it (young and lock-less); nothing outside the cache is followed.
    func testOtherDigestsCopiesArePrunedUnlessInUse() throws {
        let cache = try makeTempDir(self, "cache")
        let fleetCache = cache + "/fleet"
        let outside = try makeTempDir(self, "outside")
        try Data("keep".utf8).write(to: URL(fileURLWithPath: outside + "/precious"))
        let fm = FileManager.default
        func copy(_ name: String, lock: Bool, age: TimeInterval = 0) throws {
            let dir = fleetCache + "/" + name
            try fm.createDirectory(atPath: dir + "/vars", withIntermediateDirectories: true)
            try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/inventory.json"))
            try fm.createSymbolicLink(atPath: dir + "/vars/out", withDestinationPath: outside)   // never followed
            if lock { _ = fm.createFile(atPath: dir + ".lock", contents: nil) }
            let date = Date().addingTimeInterval(-age)
            for p in [dir + "/inventory.json", dir + "/vars", dir] { try fm.setAttributes([.modificationDate: date], ofItemAtPath: p) }
        }
        try fm.createDirectory(atPath: fleetCache, withIntermediateDirectories: true)
        try copy("demo-0a", lock: true)                                  // an older version, not running
        try copy("demo-0a.partial-12-34", lock: false)                   // its crashed unpack
        try copy("demo-0b", lock: true)                                  // another version, running (below)
        try copy("demo-0c", lock: false)                                 // from before the lock, recent
        try copy("demo-0d", lock: false, age: EmbeddedDemo.legacyAge + 60)   // from before the lock, old
        try fm.createSymbolicLink(atPath: fleetCache + "/demo-0e", withDestinationPath: outside)   // not fleet's: stays
        _ = fm.createFile(atPath: fleetCache + "/demo-0e.lock", contents: nil)
        try Data("x".utf8).write(to: URL(fileURLWithPath: fleetCache + "/demo-notes"))
        try Data("x".utf8).write(to: URL(fileURLWithPath: fleetCache + "/inventory-1234.json"))
        // The running fleet of demo-0b: its own open file description, as another process's would be.
        let running = open(fleetCache + "/demo-0b.lock", O_RDWR | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(running, 0)
        XCTAssertEqual(flock(running, LOCK_SH), 0)

        let dir = try EmbeddedDemo.unpacked(environment: ["XDG_CACHE_HOME": cache])
        let current = "demo-" + EmbeddedFiles.demo.digest
        XCTAssertEqual(Set(try fm.contentsOfDirectory(atPath: fleetCache)),
                       [current, current + ".lock", "demo-0b", "demo-0b.lock", "demo-0c", "demo-0e",
                        "demo-notes", "inventory-1234.json"])
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: outside), ["precious"])
        XCTAssertEqual(try DirectoryInventoryLoader(directory: dir).load().machines.count, 8)

        // Once that fleet exits, the next start prunes its copy; this process's own copy stays held.
        close(running)
        EmbeddedDemo.prune(cache: fleetCache, keeping: "ff")
        XCTAssertEqual(Set(try fm.contentsOfDirectory(atPath: fleetCache)),
                       [current, current + ".lock", "demo-0c", "demo-0e", "demo-notes", "inventory-1234.json"])
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: outside), ["precious"])
    }
}
