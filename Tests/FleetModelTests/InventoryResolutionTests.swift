import Collections
import XCTest
@testable import FleetModel

final class InventoryResolutionTests: XCTestCase {
    func testDemoRolesPerMachine() throws {
        let fleet = ResolvedFleet(try DirectoryInventoryLoader(directory: InventoryFixtures.demo).load())
        XCTAssertEqual(fleet.roles(of: "cinnabar"), [
            "beads-ui/default", "emergency-access/default", "internet/default", "kanban/default", "openclaw/default",
            "sshd/client", "sshd/server", "tor/server", "user-cameron/default", "zerotier/controller",
        ])
        XCTAssertEqual(fleet.roles(of: "stibnite"), ["emergency-access/default", "user-crs58/default"],
                       "the `controller` tag on stibnite gives no role: no role targets that tag")
        XCTAssertEqual(fleet.roles(of: "galena"), [
            "emergency-access/default", "internet/default", "sshd/client", "sshd/server", "tor/server",
            "user-cameron/default", "user-tara/default", "zerotier/peer",
        ])
        XCTAssertEqual(fleet.resolution.members(of: RoleRef(instance: "zerotier", role: "peer")), ["electrum", "galena", "scheelite"])
        XCTAssertEqual(fleet.resolution.members(of: RoleRef(instance: "zerotier", role: "controller")), ["cinnabar"])
        XCTAssertEqual(fleet.resolution.members(of: RoleRef(instance: "emergency-access", role: "default")).count, 8)
        XCTAssertEqual(fleet.resolution.members(of: RoleRef(instance: "sshd", role: "server")), ["cinnabar", "electrum", "galena", "scheelite"])
        XCTAssertTrue(fleet.resolution.warnings.isEmpty, "\(fleet.resolution.warnings)")
        // Settings of a service on a machine.
        let oc = try XCTUnwrap(fleet.services(of: "cinnabar").first { $0.ref.instance == "openclaw" })
        XCTAssertEqual(oc.settings["port"], .number("18789"))
        XCTAssertEqual(oc.module, ServiceInstance.Module(name: "openclaw", input: "self"))
        let inet = try XCTUnwrap(fleet.services(of: "galena").first { $0.ref.instance == "internet" })
        XCTAssertEqual(inet.settings["host"]?.stringValue, "198.51.100.20")
        XCTAssertTrue(inet.byName)
        // Targets: deploy.targetHost for NixOS hosts; none for a darwin machine without an address
        // (clan sets networking.domain only on NixOS, so clan.core.networking.targetHost is null and
        // `clan machines update` errors — fleet does not invent root@stibnite.zt).
        XCTAssertEqual(fleet.target(of: "cinnabar"), DeployTarget(address: "root@cinnabar.zt", source: .targetHost))
        XCTAssertNil(fleet.target(of: "stibnite"))
        // Matrix.
        XCTAssertEqual(fleet.roleColumns.count, 13)
        XCTAssertTrue(fleet.holds("scheelite", RoleRef(instance: "user-tara", role: "default")))
        XCTAssertFalse(fleet.holds("cinnabar", RoleRef(instance: "zerotier", role: "peer")))
        XCTAssertEqual(fleet.resolution.machines(withAllTags: ["laptop", "fleet"]).map(\.name), ["argentum", "blackphos", "rosegold"])
        XCTAssertEqual(fleet.resolution.machines(withAllTags: ["controller", "nixos"]).map(\.name), ["cinnabar"])
    }

    func testSettingsPrecedenceRoleThenTagsThenMachine() throws {
        let inv = try InventoryFixtures.decode("evaluated-full.json")
        let res = InventoryResolution(inv)
        let a = try XCTUnwrap(res.assignments(of: "jon").first { $0.ref == RoleRef(instance: "sshd", role: "server") })
        XCTAssertTrue(a.byName)
        XCTAssertEqual(a.byTags, ["web", "nixos"])
        XCTAssertEqual(a.layers.map(\.level), [.role, .tag("web"), .tag("nixos"), .machine])
        XCTAssertEqual(a.settings, try JSONParser.parse(#"{"port": 2200, "nested": {"a": 1, "b": 2}, "imports": ["user data named imports stays"], "fromTag": "web"}"#))
        // sara holds zerotier/peer through `all` only; jon is controller by name and peer by `all`.
        XCTAssertEqual(res.roles(of: "sara"), ["zerotier/peer"])
        XCTAssertEqual(res.roles(of: "jon"), ["sshd/server", "zerotier/controller", "zerotier/peer"])
    }

    func testUnknownMachinesInRolesAreReportedNotInvented() throws {
        let inv = try InventoryDecoder(file: "x").decode(#"{"machines": {"a": {}}, "instances": {"i": {"roles": {"r": {"machines": {"ghost": {}, "a": {}}}}}}}"#)
        let res = InventoryResolution(inv)
        XCTAssertEqual(res.members(of: RoleRef(instance: "i", role: "r")), ["a"])
        XCTAssertEqual(res.warnings, ["instances.i.roles.r.machines.ghost: no machine named ghost"])
        XCTAssertTrue(res.assignments(of: "ghost").isEmpty)
    }

    /// Property: on random fleets, every role's members are exactly the listed machines plus the
    /// holders of the listed tags (incl. implicit all/nixos/darwin), and no machine holds a role it
    /// should not.
    func testPropertyMembershipIsUnionOfListedMachinesAndTagHolders() throws {
        var rng = SplitMix64(seed: 0xF1EE7)
        for _ in 0..<200 {
            let tagPool = ["web", "db", "gpu", "edge", "all", "nixos", "darwin"]
            let machineCount = Int(rng.next() % 12)
            var machines = OrderedDictionary<String, JSONValue>()
            var expectedTags: [String: Set<String>] = [:]
            for i in 0..<machineCount {
                let cls = rng.next() % 3 == 0 ? "darwin" : "nixos"
                let userTags = tagPool.prefix(4).filter { _ in rng.next() % 3 == 0 }
                machines["m\(i)"] = .object(["machineClass": .string(cls), "tags": .array(userTags.map { .string($0) })])
                expectedTags["m\(i)"] = Set(userTags + ["all", cls])
            }
            var instances = OrderedDictionary<String, JSONValue>()
            var listed: [RoleRef: (machines: Set<String>, tags: Set<String>)] = [:]
            for i in 0..<Int(rng.next() % 4) {
                var roles = OrderedDictionary<String, JSONValue>()
                for r in 0..<Int(1 + rng.next() % 3) {
                    // Names of machines that may not exist (m0…m14) and any tags.
                    let ms = (0..<15).map { "m\($0)" }.filter { _ in rng.next() % 5 == 0 }
                    let ts = tagPool.filter { _ in rng.next() % 6 == 0 }
                    var mObj = OrderedDictionary<String, JSONValue>()
                    for m in ms { mObj[m] = .object([:]) }
                    var tObj = OrderedDictionary<String, JSONValue>()
                    for t in ts { tObj[t] = .object([:]) }
                    roles["r\(r)"] = .object(["machines": .object(mObj), "tags": .object(tObj)])
                    listed[RoleRef(instance: "i\(i)", role: "r\(r)")] = (Set(ms), Set(ts))
                }
                instances["i\(i)"] = .object(["roles": .object(roles)])
            }
            let inv = try InventoryDecoder(file: "random").decode(.object(["machines": .object(machines), "instances": .object(instances)]))
            let res = InventoryResolution(inv)
            for (ref, spec) in listed {
                let expected = Set(expectedTags.keys.filter { m in spec.machines.contains(m) || !expectedTags[m]!.isDisjoint(with: spec.tags) })
                XCTAssertEqual(Set(res.members(of: ref)), expected, "\(ref)")
            }
            for m in expectedTags.keys {
                for a in res.assignments(of: m) {
                    let spec = try XCTUnwrap(listed[a.ref])
                    XCTAssertTrue(spec.machines.contains(m) || !expectedTags[m]!.isDisjoint(with: spec.tags), "\(m) must not hold \(a.ref)")
                    XCTAssertEqual(a.byName, spec.machines.contains(m))
                    XCTAssertEqual(Set(a.byTags), expectedTags[m]!.intersection(spec.tags))
                }
            }
        }
    }

    func testDeployTargetOrder() throws {
        let dir = try makeTempDir(self)
        let text = #"""
        {"meta": {"name": "t", "domain": "lan"},
         "machines": {"a": {"deploy": {"targetHost": "admin@a.example:2222"}}, "b": {}, "c": {}, "d": {}, "e": {}},
         "instances": {
           "zt": {"module": {"name": "zerotier"}, "roles": {"controller": {"machines": {"a": {}}}, "peer": {"machines": {"b": {}, "c": {}, "e": {}}}}},
           "inet": {"module": {"name": "internet"}, "roles": {"default": {"machines": {"c": {"settings": {"host": "203.0.113.7"}}}}}},
           "tor": {"module": {"name": "tor"}, "roles": {"server": {"tags": ["all"]}}}
         }}
        """#
        try writeFile(dir + "/inventory.json", text)
        try writeFile(dir + "/vars/shared/zerotier-ip-b-zt/ip/value", "fd5d:bbe3:cbc5:fe6b:f699:935d:bbe3:cbc5")
        try writeFile(dir + "/vars/shared/zerotier-ip-c-zt/ip/value", "fd5d:bbe3:cbc5:fe6b:f699:93aa:aaaa:aaaa")
        let fleet = ResolvedFleet(try DirectoryInventoryLoader(directory: dir).load())
        XCTAssertEqual(fleet.target(of: "a"), DeployTarget(address: "admin@a.example:2222", source: .targetHost))
        XCTAssertEqual(fleet.target(of: "b"), DeployTarget(address: "root@[fd5d:bbe3:cbc5:fe6b:f699:935d:bbe3:cbc5]",
                                                           source: .network(module: "zerotier", instance: "zt", priority: 900)))
        // internet (2000) outranks zerotier (900).
        XCTAssertEqual(fleet.target(of: "c"), DeployTarget(address: "root@203.0.113.7", source: .network(module: "internet", instance: "inet", priority: 2000)))
        XCTAssertEqual(fleet.target(of: "d"), DeployTarget(address: "root@d.lan", source: .domainDefault))
        XCTAssertEqual(fleet.target(of: "e"), DeployTarget(address: "root@e.lan", source: .domainDefault), "zerotier member without an IP in vars")
        // Every candidate in clan's order: the deploy probes the network ones, first reachable wins.
        let c = try XCTUnwrap(fleet.inventory.machines["c"])
        XCTAssertEqual(fleet.targetCandidates(of: c, config: nil).map(\.address),
                       ["root@203.0.113.7", "root@[fd5d:bbe3:cbc5:fe6b:f699:93aa:aaaa:aaaa]", "root@c.lan"])
        XCTAssertEqual(fleet.targetCandidates(of: c, config: nil).map(\.needsProbe), [true, true, false])
        XCTAssertEqual(fleet.overlayIP(of: "b"), "fd5d:bbe3:cbc5:fe6b:f699:935d:bbe3:cbc5")
        XCTAssertNil(fleet.overlayIP(of: "d"))
    }
}
