import Collections
import XCTest
@testable import FleetModel

/// The one-pass resolution (`InventoryResolution`) must give exactly what the straightforward one it
/// replaced gave (kept below as the reference): role members, per-machine assignments with their
/// layers and merged settings, tag members, warnings.
final class InventoryResolutionReferenceTests: XCTestCase {
    private struct Reference {
        var tagMembers: [String: [String]] = [:]
        var roleMembers = OrderedDictionary<RoleRef, [String]>()
        var byMachine: [String: [RoleAssignment]] = [:]
        var warnings: [String] = []

        init(_ inventory: Inventory) {
            for m in inventory.machines.values { for t in m.tags { tagMembers[t, default: []].append(m.name) } }
            for k in tagMembers.keys { tagMembers[k]?.sort() }
            for inst in inventory.instances.values {
                for role in inst.roles.values {
                    let ref = RoleRef(instance: inst.name, role: role.name)
                    var members = Set<String>()
                    for name in role.machines.keys {
                        if inventory.machines[name] == nil {
                            warnings.append("instances.\(inst.name).roles.\(role.name).machines.\(name): no machine named \(name)")
                        } else {
                            members.insert(name)
                        }
                    }
                    for t in role.tags.keys { members.formUnion(tagMembers[t] ?? []) }
                    let sorted = members.sorted()
                    roleMembers[ref] = sorted
                    for name in sorted {
                        guard let machine = inventory.machines[name] else { continue }
                        var layers = [SettingsLayer(level: .role, settings: role.settings)]
                        let viaTags = role.tags.keys.filter { machine.tags.contains($0) }
                        for t in viaTags { layers.append(SettingsLayer(level: .tag(t), settings: role.tags[t] ?? Settings())) }
                        if let s = role.machines[name] { layers.append(SettingsLayer(level: .machine, settings: s)) }
                        let merged = layers.dropFirst().reduce(layers[0].settings.value) { SettingsMerge.merge($0, $1.settings.value) }
                        byMachine[name, default: []].append(RoleAssignment(
                            ref: ref, module: inst.module, byName: role.machines[name] != nil, byTags: Array(viaTags),
                            layers: layers, settings: merged.isNull ? .object([:]) : merged))
                    }
                }
            }
        }
    }

    private func assertSame(_ inv: Inventory, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        let ref = Reference(inv), res = InventoryResolution(inv)
        XCTAssertEqual(res.roleMembers, ref.roleMembers, label, file: file, line: line)
        XCTAssertEqual(res.warnings, ref.warnings, label, file: file, line: line)
        XCTAssertEqual(res.tagMembers, ref.tagMembers, label, file: file, line: line)
        XCTAssertEqual(res.assignmentsByMachine, ref.byMachine, label, file: file, line: line)
        for (row, name) in inv.machines.keys.enumerated() {
            XCTAssertEqual(res.roles(of: name), (ref.byMachine[name] ?? []).map(\.ref.description), label, file: file, line: line)
            // By row (`fleet list --json`), and without building the assignments (`DeployTargetResolver.first`).
            XCTAssertEqual(res.roles(ofRow: row), res.roles(of: name), label, file: file, line: line)
            var seen: [RoleAssignment] = []
            res.forEachAssignment(ofRow: row) { _, ref, module, settings in
                seen.append(RoleAssignment(ref: ref, module: module, byName: false, byTags: [], layers: [], settings: settings))
            }
            XCTAssertEqual(seen.map(\.ref), res.assignments(of: name).map(\.ref), label, file: file, line: line)
            XCTAssertEqual(seen.map(\.module), res.assignments(of: name).map(\.module), label, file: file, line: line)
            XCTAssertEqual(seen.map(\.settings), res.assignments(of: name).map(\.settings), label, file: file, line: line)
        }
    }

    func testAgreesOnFixturesDemoAndSyntheticFleet() throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: InventoryFixtures.root).sorted() where name.hasSuffix(".json") {
            if let inv = try? InventoryFixtures.decode(name) { assertSame(inv, name) }
        }
        assertSame(try DirectoryInventoryLoader(directory: InventoryFixtures.demo).load(), "demo")
        let dir = try makeTempDir(self)
        try SyntheticFleet(machines: 600, withZerotierVars: false).write(to: dir)
        assertSame(try DirectoryInventoryLoader(directory: dir).load(), "synthetic")
    }

    /// Random fleets: machines not in name order, roles listing unknown machines, several tags,
    /// per-machine and per-tag settings that merge.
    func testAgreesOnRandomFleets() throws {
        var rng = SplitMix64(seed: 0x5EED)
        let tagPool = ["web", "db", "gpu", "edge", "all", "nixos", "darwin"]
        for round in 0..<300 {
            var machines = OrderedDictionary<String, Machine>()
            for i in (0..<Int(rng.next() % 14)).shuffled(using: &rng) {
                let cls: Machine.Class = rng.next() % 3 == 0 ? .darwin : .nixos
                let tags = tagPool.prefix(4).filter { _ in rng.next() % 3 == 0 } + ["all", cls.rawValue]
                machines["m\(i)"] = Machine(name: "m\(i)", machineClass: cls, tags: tags)
            }
            var instances = OrderedDictionary<String, ServiceInstance>()
            for i in 0..<Int(rng.next() % 4) {
                var roles = OrderedDictionary<String, Role>()
                for r in 0..<Int(1 + rng.next() % 3) {
                    var role = Role(name: "r\(r)", settings: Settings(.object(["level": .string("role"), "r": JSONValue(r)])))
                    for m in (0..<16).map({ "m\($0)" }) where rng.next() % 5 == 0 {
                        role.machines[m] = rng.next() % 2 == 0 ? Settings() : Settings(.object(["level": .string("machine")]))
                    }
                    for t in tagPool where rng.next() % 5 == 0 {
                        role.tags[t] = Settings(.object(["tag": .string(t), "nested": .object([t: .bool(true)])]))
                    }
                    roles["r\(r)"] = role
                }
                instances["i\(i)"] = ServiceInstance(name: "i\(i)", module: .init(name: "mod\(i % 2)"), roles: roles)
            }
            assertSame(Inventory(meta: .init(name: "random"), machines: machines, instances: instances), "round \(round)")
        }
    }
}
