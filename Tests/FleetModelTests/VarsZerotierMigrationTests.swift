@testable import FleetModel
import Collections
import Foundation
import XCTest

/// clan's zerotier migration on plain directories (the layouts of clan's own
/// test_migrate_zerotier.py); the real-clan end-to-end case is in VarsRealClanTests.
final class VarsZerotierMigrationTests: XCTestCase {
    private func tree() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-ztmig-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/vars/per-machine", withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    private func file(_ dir: String, _ rel: String, _ text: String) throws {
        let p = dir + "/" + rel
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
    }

    private func link(_ dir: String, _ rel: String, _ target: String) throws {
        let p = dir + "/" + rel
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: p, withDestinationPath: target)
    }

    /// Two networks; `ctl` is named by the controller role, the peers come in by tag.
    private func inventory(_ extraInstance: Bool = false) -> Inventory {
        var machines = OrderedDictionary<String, Machine>()
        for (m, tags) in [("ctl", ["all"]), ("p1", ["all", "net1"]), ("p2", ["all", "net1"])] {
            machines[m] = Machine(name: m, tags: tags)
        }
        var instances = OrderedDictionary<String, ServiceInstance>()
        instances["zt1"] = ServiceInstance(name: "zt1", module: .init(name: "zerotier"), roles: [
            "controller": Role(name: "controller", machines: ["ctl": Settings()]),
            "peer": Role(name: "peer", tags: ["net1": Settings()]),
        ])
        if extraInstance {
            instances["zt2"] = ServiceInstance(name: "zt2", module: .init(name: "zerotier"), roles: [
                "controller": Role(name: "controller", machines: ["p2": Settings()]),
            ])
        }
        return Inventory(meta: .init(name: "t"), machines: machines, instances: instances)
    }

    /// OLD_FINAL: the per-machine identity wins over the shared copy; per-machine IPs move to the
    /// machine-named shared generator; empty directories go.
    func testOldFinalLayout() throws {
        let dir = try tree()
        try file(dir, "vars/per-machine/ctl/zerotier-identity/identity-secret/secret", "ctl-id")
        try link(dir, "vars/per-machine/ctl/zerotier-identity/identity-secret/machines/ctl", "../../../../../../sops/machines/ctl")
        try file(dir, "vars/shared/zerotier-identity-ctl/identity-secret/secret", "stale-shared-copy")
        try file(dir, "vars/per-machine/p1/zerotier-ip-zt1/ip/value", "fd00::1")
        try file(dir, "vars/shared/zerotier-network-zt1/network-id/value", "nwid")
        XCTAssertTrue(ZerotierMigration.needsMigration(clanDirectory: dir))
        let changed = try ZerotierMigration.migrate(clanDirectory: dir, inventory: inventory())
        XCTAssertTrue(changed.contains("vars/per-machine/ctl/zerotier-identity/identity-secret/secret"), "\(changed)")
        XCTAssertEqual(try String(contentsOfFile: dir + "/vars/shared/zerotier-identity-ctl/identity-secret/secret", encoding: .utf8), "ctl-id")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/vars/shared/zerotier-identity-ctl/identity-secret/machines/ctl"),
                       "../../../../../sops/machines/ctl")
        XCTAssertEqual(try String(contentsOfFile: dir + "/vars/shared/zerotier-ip-p1-zt1/ip/value", encoding: .utf8), "fd00::1")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/vars/per-machine/ctl/zerotier-identity"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/vars/per-machine/p1/zerotier-ip-zt1"))
        XCTAssertFalse(ZerotierMigration.needsMigration(clanDirectory: dir))
        XCTAssertEqual(try ZerotierMigration.migrate(clanDirectory: dir, inventory: inventory()), [])
    }

    /// LEGACY with a peer reached through a tag, an empty leftover leaf, and a machine in two networks.
    func testLegacyLayoutAndConflicts() throws {
        let dir = try tree()
        try file(dir, "vars/per-machine/ctl/zerotier/zerotier-network-id/value", "nwid")
        try file(dir, "vars/per-machine/p1/zerotier/zerotier-ip/value", "fd00::2")
        try FileManager.default.createDirectory(atPath: dir + "/vars/per-machine/p1/zerotier/zerotier-identity-secret/users", withIntermediateDirectories: true)
        try file(dir, "vars/per-machine/p2/zerotier/zerotier-ip/value", "fd00::3")
        XCTAssertThrowsError(try ZerotierMigration.migrate(clanDirectory: dir, inventory: inventory(true))) { e in
            XCTAssertTrue("\(e)".hasPrefix("Automatic zerotier vars migration failed: some machines belong to multiple zerotier instances."), "\(e)")
            XCTAssertTrue("\(e)".contains("  p2: joined in zt1 (peer), zt2 (controller)"), "\(e)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/vars/per-machine/p2/zerotier/zerotier-ip/value"), "nothing moved on error")

        _ = try ZerotierMigration.migrate(clanDirectory: dir, inventory: inventory())
        XCTAssertEqual(try String(contentsOfFile: dir + "/vars/shared/zerotier-network-zt1/network-id/value", encoding: .utf8), "nwid")
        XCTAssertEqual(try String(contentsOfFile: dir + "/vars/shared/zerotier-ip-p1-zt1/ip/value", encoding: .utf8), "fd00::2")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/vars/shared/zerotier-identity-p1"), "an unpopulated leaf is deleted, not moved")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/vars/per-machine/p1/zerotier"))
    }

    /// Something unknown in a LEGACY directory: clan would crash after moving half; fleet refuses first.
    func testUnknownFileInLegacyDirectoryIsRefusedBeforeMoving() throws {
        let dir = try tree()
        try file(dir, "vars/per-machine/ctl/zerotier/zerotier-network-id/value", "nwid")
        try file(dir, "vars/per-machine/ctl/zerotier/.validation-hash", "x")
        XCTAssertThrowsError(try ZerotierMigration.migrate(clanDirectory: dir, inventory: inventory())) { e in
            XCTAssertTrue("\(e)".contains("cannot move .validation-hash"), "\(e)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/vars/per-machine/ctl/zerotier/zerotier-network-id/value"))
    }

    func testRelativePath() {
        XCTAssertEqual(ZerotierMigration.relativePath("/r/sops/users/a", from: "/r/vars/shared/g/f/users"), "../../../../../sops/users/a")
        XCTAssertEqual(ZerotierMigration.relativePath("/r/a", from: "/r/a"), ".")
    }
}
