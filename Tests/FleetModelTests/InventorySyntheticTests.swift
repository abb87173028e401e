import XCTest
@testable import FleetModel

final class InventorySyntheticTests: XCTestCase {
    func testGeneratedFleetLoadsAndResolves() throws {
        let dir = try makeTempDir(self, "synthetic")
        try SyntheticFleet(machines: 300, seed: 7).write(to: dir)
        let inv = try DirectoryInventoryLoader(directory: dir).load()
        XCTAssertEqual(inv.machines.count, 300)
        XCTAssertEqual(inv.machines.keys.first, "host-00001")
        let fleet = ResolvedFleet(inv)
        let net = try XCTUnwrap(fleet.zerotier.first)
        XCTAssertEqual(net.controller, "host-00001")
        XCTAssertEqual(net.networkID?.count, 16)
        let nixos = inv.machineList.filter { $0.machineClass == .nixos }
        XCTAssertFalse(nixos.isEmpty)
        for m in nixos {
            XCTAssertTrue(fleet.roles(of: m.name).contains("zerotier/peer"), m.name)
            let ip = try XCTUnwrap(fleet.overlayIP(of: m.name), m.name)
            // rfc4193 scheme: fd + network id + 9993 + node id.
            XCTAssertTrue(ip.hasPrefix("fd" + net.networkID!.prefix(2)), ip)
            XCTAssertTrue(ip.contains(":9993:") || ip.split(separator: ":")[4].hasSuffix("99"), ip)
        }
        for m in inv.machineList where m.machineClass == .darwin {
            XCTAssertFalse(fleet.roles(of: m.name).contains { $0.hasPrefix("sshd/") }, m.name)
            if let t = fleet.target(of: m.name) { XCTAssertNotEqual(t.source, .domainDefault, m.name) }
        }
        // Same seed, same fleet.
        XCTAssertEqual(SyntheticFleet(machines: 50, seed: 3).document().inventory, SyntheticFleet(machines: 50, seed: 3).document().inventory)
        XCTAssertNotEqual(SyntheticFleet(machines: 50, seed: 3).document().inventory, SyntheticFleet(machines: 50, seed: 4).document().inventory)
        XCTAssertEqual(try InventoryDecoder(file: "x").decode(SyntheticFleet(machines: 0).document().inventory).machines.count, 0)
    }

    /// The dashboard's two-step resolution (`ResolvedFleet.firstScreen`, then `completed()`) gives
    /// the first rows exactly the addresses the one-step resolution gives, and then everything.
    func testFirstScreenThenCompletedEqualsTheWholeResolution() throws {
        let dir = try makeTempDir(self, "synthetic")
        try SyntheticFleet(machines: 300, seed: 11).write(to: dir)
        let inv = try DirectoryInventoryLoader(directory: dir).load()
        let whole = ResolvedFleet(inv)
        let first = ResolvedFleet.firstScreen(inv, rows: 40)
        XCTAssertFalse(first.isComplete)
        XCTAssertTrue(first.zerotier.isEmpty, "the networks list every member's IP: read after the frame")
        let names = inv.machineList.map(\.name)
        for (i, name) in names.enumerated() {
            XCTAssertEqual(first.addressesKnown(of: name), i < 40, name)
            XCTAssertEqual(first.roles(of: name), whole.roles(of: name), name)
            if i < 40 {
                XCTAssertEqual(first.target(of: name), whole.target(of: name), name)
                XCTAssertEqual(first.overlayIP(of: name), whole.overlayIP(of: name), name)
            } else {
                XCTAssertNil(first.target(of: name), name)
            }
        }
        XCTAssertTrue(names.prefix(40).contains { whole.overlayIP(of: $0) != nil }, "the sample has zerotier members")
        let done = first.completed()
        XCTAssertTrue(done.isComplete)
        XCTAssertTrue(done.isSameLoad(as: first))
        XCTAssertFalse(done.isSameLoad(as: whole), "another load of the same inventory is another load")
        XCTAssertEqual(done.targets, whole.targets)
        XCTAssertEqual(done.overlayIPs, whole.overlayIPs)
        XCTAssertEqual(done.zerotier, whole.zerotier)
        // A fleet no larger than the first screen is complete at once.
        XCTAssertTrue(ResolvedFleet.firstScreen(inv, rows: 300).isComplete)
    }

    func testMachineReportJSON() throws {
        let fleet = ResolvedFleet(try DirectoryInventoryLoader(directory: InventoryFixtures.demo).load())
        let cinnabar = try XCTUnwrap(fleet.inventory.machines["cinnabar"])
        let report = MachineReport.json(cinnabar, in: fleet)
        XCTAssertEqual(report["name"], .string("cinnabar"))
        XCTAssertEqual(report["roles"]?.arrayValue?.contains(.string("zerotier/controller")), true)
        XCTAssertEqual(report["target"]?["address"], .string("root@cinnabar.zt"))
        XCTAssertEqual(report["target"]?["source"], .string("deploy.targetHost"))
        let services = try XCTUnwrap(report["services"]?.arrayValue)
        let kanban = try XCTUnwrap(services.first { $0["instance"] == .string("kanban") })
        XCTAssertEqual(kanban["settings"], .object(["port": .number("3008")]))
        XCTAssertEqual(kanban["module"], .object(["name": .string("kanban"), "input": .string("self")]))
        // The JSON round-trips through our parser.
        XCTAssertEqual(try JSONParser.parse(JSONWriter(indent: "  ").string(report)), report)
    }

    /// `FleetAddresses` reads the zerotier IPs up front on every core (`ZerotierIPs.prefetch`) and
    /// takes each target with `DeployTargetResolver.first`: the same answers as asking clan's
    /// candidate list and the IP files machine by machine, on the demo (targetHost, internet hosts,
    /// zerotier) and on a fleet large enough for the parallel reads.
    func testAddressesEqualTheCandidatesMachineByMachine() throws {
        let dir = try makeTempDir(self, "synthetic")
        try SyntheticFleet(machines: 700, seed: 5).write(to: dir)
        for inv in [try DirectoryInventoryLoader(directory: dir).load(), try DirectoryInventoryLoader(directory: InventoryFixtures.demo).load()] {
            let fleet = ResolvedFleet(inv)
            let vars = inv.clanDirectory.map { VarsDirectory(root: $0) }
            XCTAssertEqual(fleet.zerotier, ZerotierView.networks(fleet.resolution, vars: vars))
            for m in inv.machineList {
                XCTAssertEqual(fleet.target(of: m.name),
                               DeployTargetResolver.candidates(of: m, resolution: fleet.resolution, vars: vars).first, m.name)
                let ip = inv.instances.values.filter { $0.module.name == "zerotier" && fleet.resolution.roles(ofInstance: $0.name).contains { $0.machines.contains(m.name) } }
                    .lazy.compactMap { inst in vars.flatMap { ZerotierView.ipAddress(of: m.name, instance: inst.name, vars: $0).0 } }.first
                XCTAssertEqual(fleet.overlayIP(of: m.name), ip, m.name)
            }
        }
    }

    /// The up-front reads run on several threads, where `VarsReadRecorder.owning` cannot tell whose
    /// read is whose: each is recorded for the machine whose IP it is (the resolved-fleet cache then
    /// re-checks a first screen's rows by their own files only), once.
    func testParallelReadsAreRecordedForTheirMachines() throws {
        let dir = try makeTempDir(self, "synthetic")
        try SyntheticFleet(machines: 700, seed: 5).write(to: dir)
        let recorder = VarsReadRecorder()
        let fleet = ResolvedFleet(try DirectoryInventoryLoader(directory: dir).load(), recorder: recorder)
        let ipReads = recorder.finish().filter { $0.path.contains("/zerotier-ip-") }
        XCTAssertGreaterThan(ipReads.count, 256, "enough for the parallel path")
        XCTAssertEqual(Set(ipReads.map(\.path)).count, ipReads.count, "each file read once")
        for r in ipReads {
            let owner = try XCTUnwrap(r.owner, r.path)
            XCTAssertTrue(r.path.contains("/zerotier-ip-\(owner)-"), "\(r.path) recorded for \(owner)")
        }
        XCTAssertEqual(Set(ipReads.compactMap(\.owner)), Set(fleet.overlayIPs.keys))
    }
}
