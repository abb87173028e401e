import Foundation
import XCTest
import FleetModel
@testable import FleetTUI

/// The inventory CLI commands run for real on temporary directories (real git).
final class InventoryCommandsTests: XCTestCase {
    private func tempDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-cli-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    private func git(_ dir: String, _ args: String...) throws -> String {
        try blockingAwait {
            let r = try await ProcessRunner().run(ProcessSpec(argv: ["git", "-C", dir] + args))
            guard r.status == 0 else { throw CLIError("git \(args): \(r.stderrString)") }
            return r.stdoutString
        }
    }

    func testTagAddAndRemoveCommitToTheRepo() throws {
        for (k, v) in ["GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "T",
                       "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_GLOBAL": "/dev/null"] { setenv(k, v, 1) }
        unsetenv("CLAN_NO_COMMIT")
        let dir = try tempDir()
        try Data(#"{"meta": {"name": "cli"}, "machines": {"web1": {"tags": ["web"]}}}"#.utf8).write(to: URL(fileURLWithPath: dir + "/inventory.json"))
        _ = try git(dir, "init", "-q")
        _ = try git(dir, "add", "-A")
        _ = try git(dir, "commit", "-q", "-m", "initial")

        try TagCommand.Add.parse(["--inventory", dir, "web1", "backup"]).run()
        XCTAssertEqual(try git(dir, "log", "-1", "--format=%s"), "inventory.json: add tag backup to machine web1\n")
        XCTAssertEqual(try DirectoryInventoryLoader(directory: dir).load().machines["web1"]?.userTags, ["web", "backup"])

        try TagCommand.Remove.parse(["--inventory", dir, "web1", "web"]).run()
        XCTAssertEqual(try git(dir, "log", "-1", "--format=%s"), "inventory.json: remove tag web from machine web1\n")
        XCTAssertEqual(try DirectoryInventoryLoader(directory: dir).load().machines["web1"]?.userTags, ["backup"])

        XCTAssertThrowsError(try TagCommand.Add.parse(["--inventory", dir, "ghost", "x"]).run()) {
            XCTAssertTrue("\($0)".contains("unknown machine 'ghost'"), "\($0)")
        }
        XCTAssertThrowsError(try TagCommand.Add.parse(["--inventory", dir, "web1", "all"]).run()) {
            XCTAssertTrue("\($0)".contains("computed by clan"), "\($0)")
        }
    }

    func testTagEditsRefuseTheDemo() throws {
        setenv("FLEET_DEMO_DIR", InventorySource.demoDirectory(environment: [:]), 1)
        defer { unsetenv("FLEET_DEMO_DIR") }
        let cwd = FileManager.default.currentDirectoryPath
        guard !FileManager.default.fileExists(atPath: cwd + "/flake.nix") else { return }
        XCTAssertThrowsError(try TagCommand.Add.parse(["cinnabar", "x"]).run()) {
            XCTAssertTrue("\($0)".contains("demo fleet is read-only"), "\($0)")
        }
    }

    func testDemoGenerateWritesALoadableFleet() throws {
        let dir = try tempDir() + "/fleet"
        try DemoCommand.Generate.parse(["--machines", "120", "--dir", dir]).run()
        let inv = try SourceOptions.parse(["--inventory", dir]).load()
        XCTAssertEqual(inv.machines.count, 120)
        XCTAssertThrowsError(try DemoCommand.Generate.parse(["--machines", "-1", "--dir", dir]))
    }

    func testShowUnknownMachineNamesTheKnownOnes() throws {
        XCTAssertThrowsError(try ShowCommand.parse(["--inventory", InventorySource.demoDirectory(environment: [:]), "nope"]).run()) {
            XCTAssertTrue("\($0)".contains("unknown machine 'nope'. Known machines: argentum, blackphos"), "\($0)")
        }
    }
}
