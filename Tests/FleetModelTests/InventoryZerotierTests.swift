import XCTest
@testable import FleetModel

final class InventoryZerotierTests: XCTestCase {
    private let inventoryText = #"""
    {"meta": {"name": "z", "domain": "zt"},
     "machines": {"ctl": {"tags": ["hub"]}, "moon1": {}, "p1": {"tags": ["peer"]}, "p2": {"tags": ["peer"]}, "mac": {"machineClass": "darwin"}},
     "instances": {
       "home": {"module": {"name": "zerotier", "input": "clan-core"}, "roles": {
         "controller": {"machines": {"ctl": {}}},
         "moon": {"machines": {"moon1": {"settings": {"stableEndpoints": ["192.0.2.5"]}}}},
         "peer": {"tags": {"peer": {}, "hub": {}}}}},
       "other": {"module": {"name": "sshd"}, "roles": {"server": {"tags": ["all"]}}}
     }}
    """#

    private func network(_ dir: String) throws -> ZerotierNetwork {
        try writeFile(dir + "/inventory.json", inventoryText)
        let fleet = ResolvedFleet(try DirectoryInventoryLoader(directory: dir).load())
        XCTAssertEqual(fleet.zerotier.count, 1, "only instances of the zerotier module")
        return try XCTUnwrap(fleet.zerotier.first)
    }

    func testLayout2605SharedGenerators() throws {
        let dir = try makeTempDir(self)
        try writeFile(dir + "/vars/shared/zerotier-network-home/network-id/value", "a1b2c3d4e5f60718")
        try writeFile(dir + "/vars/shared/zerotier-ip-ctl-home/ip/value", "fda1:b2c3:d4e5:f607:1899:93aa:bbcc:dd01")
        try writeFile(dir + "/vars/shared/zerotier-ip-p1-home/ip/value", "fda1:b2c3:d4e5:f607:1899:93aa:bbcc:dd02\n")
        // A value of another instance must not be picked up.
        try writeFile(dir + "/vars/shared/zerotier-ip-p2-elsewhere/ip/value", "fd00::bad")
        let net = try network(dir)
        XCTAssertEqual(net.instance, "home")
        XCTAssertEqual(net.networkID, "a1b2c3d4e5f60718")
        XCTAssertEqual(net.networkIDLayout, .shared)
        XCTAssertEqual(net.controller, "ctl")
        XCTAssertEqual(net.moons, ["moon1"])
        XCTAssertEqual(net.peers, ["ctl", "p1", "p2"])
        XCTAssertEqual(net.members.map(\.machine), ["ctl", "moon1", "p1", "p2"])
        XCTAssertEqual(net.member("ctl")?.roles, ["controller", "peer"])
        XCTAssertEqual(net.member("ctl")?.ip, "fda1:b2c3:d4e5:f607:1899:93aa:bbcc:dd01")
        XCTAssertEqual(net.member("ctl")?.layout, .shared)
        XCTAssertEqual(net.member("p1")?.ip, "fda1:b2c3:d4e5:f607:1899:93aa:bbcc:dd02", "trailing newline stripped like clan's .strip()")
        XCTAssertNil(net.member("p2")?.ip)
        XCTAssertNil(net.member("mac"))
    }

    func testLayout2511PerMachineGenerator() throws {
        let dir = try makeTempDir(self)
        try writeFile(dir + "/vars/per-machine/ctl/zerotier/zerotier-network-id/value", "0011223344556677")
        try writeFile(dir + "/vars/per-machine/ctl/zerotier/zerotier-ip/value", "fd00:1122:3344:5566:7799:9300:0000:0001")
        try writeFile(dir + "/vars/per-machine/p2/zerotier/zerotier-ip/value", "fd00:1122:3344:5566:7799:9300:0000:0003")
        let net = try network(dir)
        XCTAssertEqual(net.networkID, "0011223344556677")
        XCTAssertEqual(net.networkIDLayout, .legacy)
        XCTAssertEqual(net.member("p2")?.ip, "fd00:1122:3344:5566:7799:9300:0000:0003")
        XCTAssertEqual(net.member("p2")?.layout, .legacy)
        XCTAssertNil(net.member("p1")?.ip)
    }

    func testNewestLayoutWinsAndOldFinalIsRead() throws {
        let dir = try makeTempDir(self)
        try writeFile(dir + "/vars/per-machine/p1/zerotier/zerotier-ip/value", "fd00::1")
        try writeFile(dir + "/vars/shared/zerotier-ip-p1-home/ip/value", "fd00::2")
        try writeFile(dir + "/vars/per-machine/p2/zerotier-ip-home/ip/value", "fd00::3")
        try writeFile(dir + "/vars/shared/zerotier-controller/zerotier-network-id/value", "ffeeddccbbaa9988")
        let net = try network(dir)
        XCTAssertEqual(net.member("p1")?.ip, "fd00::2")
        XCTAssertEqual(net.member("p1")?.layout, .shared)
        XCTAssertEqual(net.member("p2")?.layout, .oldFinal)
        XCTAssertEqual(net.networkID, "ffeeddccbbaa9988")
        XCTAssertEqual(net.networkIDLayout, .canonical)
    }

    func testNoVarsMeansNoAddressesButRolesStillResolve() throws {
        let dir = try makeTempDir(self)
        let net = try network(dir)
        XCTAssertNil(net.networkID)
        XCTAssertTrue(net.members.allSatisfy { $0.ip == nil })
        XCTAssertEqual(net.controller, "ctl")
    }
}
