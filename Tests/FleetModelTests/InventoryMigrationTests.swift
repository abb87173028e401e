import Foundation
import XCTest
@testable import FleetModel

/// clan's `run_inventory_migrations` (clan_lib/persist/migrations/), which `clan machines update`
/// runs before evaluating anything: an empty `services` key left by clan ≤ 25.11 is removed (clan-core
/// 26.05 fails to evaluate it: "option does not exist") and committed; a non-empty one is an error
/// with clan's guide link. Real git.
final class InventoryMigrationTests: XCTestCase {
    private func repo(_ text: String) async throws -> String {
        let dir = try makeTempDir(self, "migrate")
        try writeFile(dir + "/inventory.json", text)
        try await gitRun(dir, "init", "-q")
        try await gitRun(dir, "add", "-A")
        try await gitRun(dir, "commit", "-q", "-m", "initial")
        return dir
    }

    func testEmptyServicesIsRemovedAndCommittedAsClanDoes() async throws {
        let dir = try await repo("{\n  \"meta\": {\n    \"name\": \"x\"\n  },\n  \"services\": {},\n  \"machines\": {}\n}")
        let out = try await InventoryWriter(directory: dir, environment: gitEnvironment()).migrateServices()
        XCTAssertTrue(out.committed)
        // Python's json.dump(indent=2): `{}` for an empty object, no trailing newline.
        XCTAssertEqual(try String(contentsOfFile: dir + "/inventory.json", encoding: .utf8),
                       "{\n  \"meta\": {\n    \"name\": \"x\"\n  },\n  \"machines\": {}\n}")
        let log = try await gitRun(dir, "log", "-1", "--format=%s").stdoutString
        XCTAssertEqual(log, "inventory.json: remove stale keys from previous clan version\n")
        // Nothing left to do: no change, no commit.
        let again = try await InventoryWriter(directory: dir, environment: gitEnvironment()).migrateServices()
        XCTAssertFalse(again.changed)
    }

    func testNonEmptyServicesIsClansError() async throws {
        let dir = try await repo("{\"services\": {\"borgbackup\": {}}}")
        do {
            _ = try await InventoryWriter(directory: dir, environment: gitEnvironment()).migrateServices()
            XCTFail("a non-empty services key needs the user")
        } catch {
            let text = "\(error)"
            XCTAssertTrue(text.contains("inventory.json"), text)
            XCTAssertTrue(text.contains("non-empty 'services' key"), text)
            XCTAssertTrue(text.contains("https://clan.lol/docs/guides/migrations/migrate-inventory-services"), text)
        }
    }

    func testNoInventoryFileIsNothingToDo() async throws {
        let dir = try makeTempDir(self, "none")
        let out = try await InventoryWriter(directory: dir).migrateServices()
        XCTAssertFalse(out.changed)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/inventory.json"))
    }
}
