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
                       #"{"key":"k1","systems":{"db":"/nix/store/bbb-db","web":"/nix/store/aaa-web"}}"#)
        XCTAssertEqual(systems.load(key: "k1"), ["web": "/nix/store/aaa-web", "db": "/nix/store/bbb-db"])

        let deploy = try XCTUnwrap(DeployConfigCache(flake: flake, directory: cache))
        let machines = try JSONParser.parse(Array(#"{"alpha": {"targetHost": "root@alpha"}}"#.utf8))
        deploy.store(key: "k2", machines: machines, exports: nil)
        XCTAssertEqual(try String(contentsOfFile: deploy.file, encoding: .utf8),
                       #"{"key":"k2","machines":{"alpha":{"targetHost":"root@alpha"}},"exports":null}"#)

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
