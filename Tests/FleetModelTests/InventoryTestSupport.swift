import Foundation
import XCTest
@testable import FleetModel

/// Paths of the test fixtures (read from the source tree, like the demo inventory).
enum InventoryFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/inventory").path
    static func path(_ name: String) -> String { root + "/" + name }
    static func decode(_ name: String) throws -> Inventory {
        let data = try XCTUnwrap(FileManager.default.contents(atPath: path(name)), "fixture \(name) missing")
        return try InventoryDecoder(file: name).decode(bytes: Array(data))
    }
    /// The repository's `inventory/` (what the binary embeds as its demo, `EmbeddedFilesTests`).
    static var demo: String { RealClan.repoRoot + "/inventory" }
}

/// A private temporary directory, removed at the end of the test.
func makeTempDir(_ test: XCTestCase, _ label: String = "inv") throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-\(label)-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

func writeFile(_ path: String, _ text: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

/// Runs git for a test repo with a fixed identity and no user/system config.
@discardableResult
func gitRun(_ dir: String, _ args: String...) async throws -> ProcessResult {
    let r = try await ProcessRunner().run(ProcessSpec(argv: ["git", "-C", dir] + args, environment: gitEnvironment()))
    if r.status != 0 { XCTFail("git \(args) failed: \(r.stderrString)") }
    return r
}

func gitEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
    var env = ProcessInfo.processInfo.environment
    env["GIT_CONFIG_GLOBAL"] = "/dev/null"
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["GIT_AUTHOR_NAME"] = "Fleet Test"
    env["GIT_AUTHOR_EMAIL"] = "fleet@example.invalid"
    env["GIT_COMMITTER_NAME"] = "Fleet Test"
    env["GIT_COMMITTER_EMAIL"] = "fleet@example.invalid"
    env.removeValue(forKey: "CLAN_NO_COMMIT")
    for (k, v) in extra { env[k] = v }
    return env
}
