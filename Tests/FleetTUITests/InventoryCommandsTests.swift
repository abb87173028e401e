import Foundation
import XCTest
import ArgumentParser
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

    private func git(_ dir: String, _ args: String...) async throws -> String {
        let r = try await ProcessRunner().run(ProcessSpec(argv: ["git", "-C", dir] + args))
        guard r.status == 0 else { throw CLIError("git \(args): \(r.stderrString)") }
        return r.stdoutString
    }

    /// Runs a parsed command; XCTAssertThrowsError takes no async expression.
    private func assertFails<C: AsyncParsableCommand>(_ command: C, saying text: String, line: UInt = #line) async {
        var c = command   // the protocol's run() is mutating
        do {
            try await c.run()
            XCTFail("no error", line: line)
        } catch {
            XCTAssertTrue("\(error)".contains(text), "\(error)", line: line)
        }
    }

    func testTagAddAndRemoveCommitToTheRepo() async throws {
        for (k, v) in ["GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "T",
                       "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_GLOBAL": "/dev/null"] { setenv(k, v, 1) }
        unsetenv("CLAN_NO_COMMIT")
        let dir = try tempDir()
        try Data(#"{"meta": {"name": "cli"}, "machines": {"web1": {"tags": ["web"]}}}"#.utf8).write(to: URL(fileURLWithPath: dir + "/inventory.json"))
        _ = try await git(dir, "init", "-q")
        _ = try await git(dir, "add", "-A")
        _ = try await git(dir, "commit", "-q", "-m", "initial")

        let add = try TagCommand.Add.parse(["--inventory", dir, "web1", "backup"])
        try await add.run()
        let added = try await git(dir, "log", "-1", "--format=%s")
        XCTAssertEqual(added, "inventory.json: add tag backup to machine web1\n")
        XCTAssertEqual(try DirectoryInventoryLoader(directory: dir).load().machines["web1"]?.userTags, ["web", "backup"])

        let remove = try TagCommand.Remove.parse(["--inventory", dir, "web1", "web"])
        try await remove.run()
        let removed = try await git(dir, "log", "-1", "--format=%s")
        XCTAssertEqual(removed, "inventory.json: remove tag web from machine web1\n")
        XCTAssertEqual(try DirectoryInventoryLoader(directory: dir).load().machines["web1"]?.userTags, ["backup"])

        await assertFails(try TagCommand.Add.parse(["--inventory", dir, "ghost", "x"]), saying: "unknown machine 'ghost'")
        await assertFails(try TagCommand.Add.parse(["--inventory", dir, "web1", "all"]), saying: "computed by clan")
    }

    func testTagEditsRefuseTheDemo() async throws {
        // The built-in demo, as `fleet` finds it without FLEET_DEMO_DIR (unpacked into a private cache).
        let saved = ProcessInfo.processInfo.environment
        unsetenv("FLEET_DEMO_DIR")
        setenv("XDG_CACHE_HOME", try tempDir(), 1)
        defer {
            if let d = saved["FLEET_DEMO_DIR"] { setenv("FLEET_DEMO_DIR", d, 1) }
            if let c = saved["XDG_CACHE_HOME"] { setenv("XDG_CACHE_HOME", c, 1) } else { unsetenv("XDG_CACHE_HOME") }
        }
        let cwd = FileManager.default.currentDirectoryPath
        guard !FileManager.default.fileExists(atPath: cwd + "/flake.nix") else { return }
        await assertFails(try TagCommand.Add.parse(["cinnabar", "x"]), saying: "demo fleet is read-only")
    }

    func testDemoGenerateWritesALoadableFleet() async throws {
        let dir = try tempDir() + "/fleet"
        try DemoCommand.Generate.parse(["--machines", "120", "--dir", dir]).run()
        let inv = try await SourceOptions.parse(["--inventory", dir]).load()
        XCTAssertEqual(inv.machines.count, 120)
        XCTAssertThrowsError(try DemoCommand.Generate.parse(["--machines", "-1", "--dir", dir]))
    }

    func testShowUnknownMachineNamesTheKnownOnes() async throws {
        await assertFails(try ShowCommand.parse(["--inventory", TestFleet.demoDirectory, "nope"]),
                          saying: "unknown machine 'nope'. Known machines: argentum, blackphos")
    }
}
