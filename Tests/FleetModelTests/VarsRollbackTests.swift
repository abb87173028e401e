@testable import FleetModel
import Foundation
import XCTest

/// The rollback a failed var store uses (a full disk, a failed commit): old files, links and
/// directories come back exactly; what the failed store added goes.
final class VarsRollbackTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "vars-rollback-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root + "/git", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/gen/pw/users", withIntermediateDirectories: true)
        try Data("old secret".utf8).write(to: URL(fileURLWithPath: root + "/gen/pw/secret"))
        try FileManager.default.createSymbolicLink(atPath: root + "/gen/pw/users/alice", withDestinationPath: "../../../sops/users/alice")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    func snapshot() -> [String: String] {
        var out: [String: String] = [:]
        for (rel, kind) in VarsRollback.entries(root + "/gen") {
            let p = root + "/gen/" + rel
            switch kind {
            case .dir: out[rel] = "dir"
            case .link: out[rel] = "-> " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: p)) ?? "?")
            case .file: out[rel] = String(decoding: FileManager.default.contents(atPath: p) ?? Data(), as: UTF8.self)
            }
        }
        return out
    }

    func testRestorePutsBackFilesLinksAndRemovesWhatTheStoreAdded() throws {
        let before = snapshot()
        let rb = try VarsRollback(directory: root + "/gen", gitDirectory: root + "/git", key: "per-machine/m/gen")
        // A store that got half way: secret replaced (rename over it), a link added, a new file and dir.
        try VarsAtomicWrite.write(Array("new secret".utf8), to: root + "/gen/pw/secret")
        try VarsAtomicWrite.symlink(target: "../../../sops/users/bob", at: root + "/gen/pw/users/bob")
        try VarsAtomicWrite.write(Array("hash".utf8), to: root + "/gen/pw-hash/secret")
        XCTAssertNotEqual(snapshot(), before)
        rb.restore()
        XCTAssertEqual(snapshot(), before)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/git/fleet-rollback-\(getpid())"), "backup removed")
    }

    func testDiscardKeepsTheNewVarAndRemovesTheBackup() throws {
        let rb = try VarsRollback(directory: root + "/gen", gitDirectory: root + "/git", key: "g")
        try VarsAtomicWrite.write(Array("new secret".utf8), to: root + "/gen/pw/secret")
        rb.discard()
        XCTAssertEqual(snapshot()["pw/secret"], "new secret")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/git"), [])
    }

    func testRestoreOfANewGeneratorRemovesIt() throws {
        let rb = try VarsRollback(directory: root + "/fresh", gitDirectory: root + "/git", key: "fresh")
        try VarsAtomicWrite.write(Array("v".utf8), to: root + "/fresh/f/value")
        rb.restore()
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/fresh"))
    }

    func testStaleLockFilesNobodyHoldsAreRemovedHeldOnesKept() throws {
        let git = root + "/git"
        try FileManager.default.createDirectory(atPath: git + "/refs/heads", withIntermediateDirectories: true)
        for f in ["index.lock", "HEAD.lock", "refs/heads/main.lock"] { _ = FileManager.default.createFile(atPath: git + "/" + f, contents: Data()) }
        let held = open(git + "/HEAD.lock", O_RDONLY)
        defer { close(held) }
        let removed = GitStaleLocks.remove(gitDirectory: git).map { String($0.dropFirst(git.count + 1)) }.sorted()
        XCTAssertEqual(removed, ["index.lock", "refs/heads/main.lock"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: git + "/HEAD.lock"), "a lock some process has open stays")
    }
}
