import FleetModel
import Foundation
import XCTest

/// fleet's reading of the real clan-core (d7c35d9): the evaluated inventory and every machine's vars
/// graph, compared field by field with what clan-core itself evaluates. These fail when fleet's
/// decoding drifts from clan-core's output (issue 13).
final class RealClanInventoryTests: XCTestCase {
    override func setUp() async throws { RealClan.useOfflineNix() }

    /// Every machine and instance of the serialization, as fleet decodes it, equals clan's JSON.
    private func assertInventoryMatchesClan(_ dir: String, file: StaticString = #filePath, line: UInt = #line) async throws -> Inventory {
        let raw = try RealClan.eval(dir, FlakeEvaluator.attribute)
        let inv = try await FlakeEvaluator().evaluate(dir)
        let rawMachines = try XCTUnwrap(raw["machines"]?.objectValue)
        XCTAssertEqual(Array(inv.machines.keys).sorted(), rawMachines.keys.sorted(), file: file, line: line)
        for (name, m) in rawMachines {
            let mine = try XCTUnwrap(inv.machines[name])
            XCTAssertEqual(mine.machineClass.rawValue, m["machineClass"]?.stringValue, name, file: file, line: line)
            XCTAssertEqual(mine.tags, m["tags"]?.arrayValue?.compactMap(\.stringValue), "\(name).tags", file: file, line: line)
            XCTAssertEqual(mine.deploy.targetHost, m["deploy"]?["targetHost"]?.stringValue, "\(name).deploy", file: file, line: line)
            XCTAssertEqual(mine.description, m["description"]?.stringValue, file: file, line: line)
        }
        let rawInstances = try XCTUnwrap(raw["instances"]?.objectValue)
        XCTAssertEqual(Array(inv.instances.keys).sorted(), rawInstances.keys.sorted(), file: file, line: line)
        for (name, i) in rawInstances {
            let mine = try XCTUnwrap(inv.instances[name])
            XCTAssertEqual(mine.module.name, i["module"]?["name"]?.stringValue, file: file, line: line)
            XCTAssertEqual(mine.module.input, i["module"]?["input"]?.stringValue, file: file, line: line)
            let roles = try XCTUnwrap(i["roles"]?.objectValue)
            XCTAssertEqual(Array(mine.roles.keys).sorted(), roles.keys.sorted(), name, file: file, line: line)
            for (r, role) in roles {
                let m = try XCTUnwrap(mine.roles[r])
                XCTAssertEqual(Array(m.machines.keys), Array(role["machines"]?.objectValue?.keys ?? []), "\(name).\(r)", file: file, line: line)
                XCTAssertEqual(Array(m.tags.keys), Array(role["tags"]?.objectValue?.keys ?? []), "\(name).\(r)", file: file, line: line)
                // clan's settings wrapper: {"imports":[{"_file":…,"imports":[VALUE]}]} (one definition here).
                let wrapped = role["settings"]?["imports"]?.arrayValue?.first?["imports"]?.arrayValue?.first
                XCTAssertEqual(m.settings.value, wrapped ?? .object([:]), "\(name).\(r).settings", file: file, line: line)
            }
        }
        return inv
    }

    func testExampleClanInventoryIsClanCoresEvaluation() async throws {
        let inv = try await assertInventoryMatchesClan(try RealClan.flake())
        XCTAssertEqual(inv.meta.name, "example")
        XCTAssertEqual(inv.meta.domain, "example.lan")
        // Computed tags (clan-core modules/clan/computed-tags.nix): the user's, then `all` and the class.
        XCTAssertEqual(inv.machines["alpha"]?.tags, ["server", "controller", "all", "nixos"])
        XCTAssertEqual(inv.machines["gamma"]?.tags, ["laptop", "all", "darwin"])
        XCTAssertEqual(inv.machines["gamma"]?.machineClass, .darwin)
        XCTAssertEqual(inv.instances["user-root"]?.module.name, "users")
        XCTAssertEqual(inv.instances["sshd"]?.roles["server"]?.settings.value["authorizedKeys"]?["admin"]?.stringValue?.hasPrefix("ssh-ed25519 "), true)
        // Resolution over the real roles: zerotier's peer role targets the computed tag `all`.
        let fleet = ResolvedFleet(inv)
        XCTAssertEqual(fleet.roles(of: "gamma").sorted(), ["sshd/client", "zerotier/peer"])
        XCTAssertEqual(fleet.roles(of: "alpha").sorted(), ["sshd/client", "sshd/server", "user-root/default", "zerotier/controller", "zerotier/peer"])
    }

    /// Role membership as fleet resolves it (by name and through tags, computed tags included) equals
    /// clan-core's own resolution: `_services.allServices.<module>.result.allRoles.<r>.allInstances.<i>.allMachines`.
    private func assertRoleMembersMatchClan(_ dir: String, _ inv: Inventory, file: StaticString = #filePath, line: UInt = #line) throws {
        let apply = "s: builtins.mapAttrs (_: v: builtins.mapAttrs (_: r: builtins.mapAttrs (_: i: builtins.attrNames i.allMachines)"
            + " r.allInstances) v.result.allRoles) s"
        let raw = try XCTUnwrap(try RealClan.eval(dir, "clan._services.allServices", apply: apply).objectValue)
        var clans: [String: [String]] = [:]
        for (_, roles) in raw {
            for (role, instances) in roles.objectValue ?? [:] {
                for (instance, machines) in instances.objectValue ?? [:] {
                    clans["\(instance)/\(role)"] = machines.arrayValue?.compactMap(\.stringValue).sorted()
                }
            }
        }
        let fleet = ResolvedFleet(inv)
        var mine: [String: [String]] = [:]
        for (name, instance) in inv.instances {
            for role in instance.roles.keys { mine["\(name)/\(role)"] = fleet.resolution.members(of: RoleRef(instance: name, role: role)).sorted() }
        }
        // clan-core also lists a module's roles no instance uses (zerotier's `moon`): with no members.
        XCTAssertEqual(mine, clans.filter { mine[$0.key] != nil || !$0.value.isEmpty }, file: file, line: line)
        XCTAssertFalse(mine.isEmpty, file: file, line: line)
    }

    func testRoleMembershipIsClanCoresResolution() async throws {
        for dir in [try RealClan.flake(), try RealClan.flake(clanNix: RealClan.clanNix("homelab.nix"))] {
            try assertRoleMembersMatchClan(dir, try await FlakeEvaluator().evaluate(dir))
        }
    }

    func testHomelabInventoryIsClanCoresEvaluation() async throws {
        let inv = try await assertInventoryMatchesClan(try RealClan.flake(clanNix: RealClan.clanNix("homelab.nix")))
        XCTAssertEqual(inv.instances["emergency-access"]?.module.name, "emergency-access")
        XCTAssertEqual(inv.instances["sshd"]?.roles["server"]?.settings.value["certificate"]?["searchDomains"], .array([.string("home.lan")]))
        XCTAssertEqual(ResolvedFleet(inv).target(of: "gateway")?.address, "root@gateway.home.lan")
    }

    /// Every machine's generators as fleet's catalog holds them equal `clanInternals.machines.<sys>.<m>`'s
    /// `config.clan.core.vars.generators` (names, share, dependencies, files, prompts).
    func testVarsGraphOfEveryMachineIsClanCoresEvaluation() async throws {
        let dir = try RealClan.flake(clanNix: RealClan.clanNix("homelab.nix"))
        let catalog = try await FlakeGenerators(flake: dir, runner: ProcessVarsRunner()).load()
        let raw = try XCTUnwrap(try RealClan.eval(dir, "clanVars").objectValue)
        XCTAssertEqual(catalog.machineNames, raw.keys.sorted())
        for (m, gens) in raw {
            let mine = Dictionary(uniqueKeysWithValues: catalog.generators(for: m).map { ($0.name, $0) })
            let rawGens = try XCTUnwrap(gens.objectValue)
            XCTAssertEqual(mine.keys.sorted(), rawGens.keys.sorted(), m)
            for (g, def) in rawGens {
                let gen = try XCTUnwrap(mine[g])
                XCTAssertEqual(gen.share, def["share"]?.boolValue, "\(m).\(g).share")
                XCTAssertEqual(gen.dependencies.map(\.name), def["dependencies"]?.arrayValue?.compactMap(\.stringValue), "\(m).\(g).dependencies")
                for (f, file) in def["files"]?.objectValue ?? [:] {
                    let mf = try XCTUnwrap(gen.files.first { $0.name == f }, "\(m).\(g).files.\(f)")
                    XCTAssertEqual(mf.secret, file["secret"]?.boolValue, "\(m).\(g).files.\(f).secret")
                    XCTAssertEqual(mf.deploy, file["deploy"]?.boolValue, "\(m).\(g).files.\(f).deploy")
                }
                XCTAssertEqual(gen.files.map(\.name).sorted(), (def["files"]?.objectValue?.keys).map { Array($0).sorted() } ?? [])
                for (p, prompt) in def["prompts"]?.objectValue ?? [:] {
                    let mp = try XCTUnwrap(gen.prompts.first { $0.name == p }, "\(m).\(g).prompts.\(p)")
                    XCTAssertEqual(mp.kind.rawValue, prompt["type"]?.stringValue)
                    XCTAssertEqual(mp.persist, prompt["persist"]?.boolValue)
                    XCTAssertEqual(mp.description, prompt["description"]?.stringValue)
                }
            }
        }
        // The shape real clan gives this clan: shared zerotier generators, one CA, a prompted password.
        XCTAssertEqual(catalog.generators[.shared("zerotier-network-zerotier")]?.dependencies, [.shared("zerotier-identity-gateway")])
        XCTAssertEqual(catalog.generators[.shared("openssh-ca")]?.machines, ["db", "gateway", "web"])
        XCTAssertEqual(catalog.generators[.perMachine("user-password-admin", "web")]?.prompts.map(\.kind), [.hidden])
    }
}
