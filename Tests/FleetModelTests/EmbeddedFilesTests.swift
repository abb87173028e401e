import Foundation
import XCTest
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
        // Nothing half-unpacked is left beside it; a second start reuses it.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache + "/fleet"), ["demo-" + EmbeddedFiles.demo.digest])
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
}
