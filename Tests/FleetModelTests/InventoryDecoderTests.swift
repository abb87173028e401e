import Collections
import XCTest
@testable import FleetModel

final class InventoryDecoderTests: XCTestCase {
    func testEverySchemaFieldOfTheEvaluatedShape() throws {
        let inv = try InventoryFixtures.decode("evaluated-full.json")
        XCTAssertEqual(inv.meta, Inventory.Meta(name: "my-clan", domain: "home", description: "my fleet", icon: "clan.svg"))
        XCTAssertEqual(Array(inv.machines.keys), ["jon", "sara"], "machines sorted by name")
        let jon = try XCTUnwrap(inv.machines["jon"])
        XCTAssertEqual(jon.name, "jon")
        XCTAssertEqual(jon.machineClass, .nixos)
        XCTAssertEqual(jon.description, "the web server")
        XCTAssertEqual(jon.icon, "server.svg")
        XCTAssertEqual(jon.installedAt, 1718000000)
        XCTAssertEqual(jon.tags, ["web", "all", "nixos"])
        XCTAssertEqual(jon.userTags, ["web"])
        XCTAssertEqual(jon.deploy, Machine.Deploy(targetHost: "root@192.168.1.10", buildHost: "localhost", forwardAgent: true))
        XCTAssertEqual(jon.extra["machineExtra"], .object(["x": .array([.number("1"), .number("2.50")])]), "unknown fields kept verbatim")
        let sara = try XCTUnwrap(inv.machines["sara"])
        XCTAssertEqual(sara.machineClass, .darwin)
        XCTAssertEqual(sara.tags, ["all", "darwin"])
        XCTAssertEqual(sara.deploy, Machine.Deploy())
        XCTAssertNil(sara.installedAt)

        XCTAssertEqual(inv.tags["web"], ["jon"])
        XCTAssertEqual(inv.tags["all"], ["jon", "sara"])

        XCTAssertEqual(Array(inv.instances.keys), ["sshd", "zerotier"])
        let sshd = try XCTUnwrap(inv.instances["sshd"])
        XCTAssertEqual(sshd.module, ServiceInstance.Module(name: "sshd", input: "clan-core"))
        XCTAssertEqual(sshd.extra["futureField"], .object(["kept": .bool(true)]))
        XCTAssertEqual(inv.instances["zerotier"]?.module, ServiceInstance.Module(name: "zerotier", input: nil))
        let server = try XCTUnwrap(sshd.roles["server"])
        XCTAssertEqual(server.name, "server")
        XCTAssertEqual(server.extra["roleExtra"], .number("7"))
        XCTAssertEqual(Array(server.tags.keys), ["web", "nixos"])
        XCTAssertEqual(Array(inv.instances["zerotier"]!.roles.keys), ["controller", "peer"])
        XCTAssertEqual(inv.instances["zerotier"]!.roles["peer"]!.tags["all"], Settings(.object([:]), definedIn: "f"))
    }

    func testSettingsWrapperIsRemovedAtTheWhitelistedPathsOnly() throws {
        let inv = try InventoryFixtures.decode("evaluated-full.json")
        let server = try XCTUnwrap(inv.instances["sshd"]?.roles["server"])
        // Role settings: unwrapped, and a user key named `imports` inside the value is left alone.
        XCTAssertEqual(server.settings.value, try JSONParser.parse(#"{"port": 22, "nested": {"a": 1, "b": 1}, "imports": ["user data named imports stays"]}"#))
        XCTAssertEqual(server.settings.definedIn, "/nix/store/abc-source/clan.nix, via option inventory.instances.sshd.roles.server.settings")
        XCTAssertEqual(server.machines["jon"]?.value, try JSONParser.parse(#"{"port": 2200, "nested": {"b": 2}}"#))
        XCTAssertEqual(server.tags["web"]?.value, try JSONParser.parse(#"{"port": 2201, "fromTag": "web"}"#))
        // Unknown fields elsewhere are not unwrapped even if they look like the wrapper.
        let raw = try JSONParser.parse(#"{"machines": {"m": {"weird": {"imports": [{"_file": "f", "imports": [{"a": 1}]}]}}}}"#)
        let inv2 = try InventoryDecoder(file: "x.json").decode(raw)
        XCTAssertEqual(inv2.machines["m"]?.extra["weird"], raw["machines"]?["m"]?["weird"])
    }

    func testSettingsWrapperShapes() throws {
        func unwrap(_ s: String) throws -> Settings { try SettingsWrapper.unwrap(try JSONParser.parse(s), file: "f.json", at: "p") }
        XCTAssertEqual(try unwrap(#"{"imports":[{"_file":"a","imports":[{"x":1}]}]}"#), Settings(.object(["x": .number("1")]), definedIn: "a"))
        XCTAssertEqual(try unwrap(#"{"x":1}"#), Settings(.object(["x": .number("1")])), "plain (inventory.json) settings")
        XCTAssertEqual(try unwrap("null"), Settings())
        XCTAssertEqual(try unwrap(#"{"imports":[]}"#), Settings())
        // Two definitions (not allowed by clan's type, but never crash): merged in order.
        XCTAssertEqual(try unwrap(#"{"imports":[{"_file":"a","imports":[{"x":1,"y":1}]},{"_file":"b","imports":[{"y":2}]}]}"#).value,
                       try JSONParser.parse(#"{"x":1,"y":2}"#))
        XCTAssertThrowsError(try unwrap(#"{"imports":{"a":1}}"#)) { XCTAssertEqual(($0 as? InventoryError)?.path, "p.imports") }
        XCTAssertThrowsError(try unwrap(#"{"imports":[{"_file":"a","imports":[3]}]}"#)) {
            XCTAssertEqual(($0 as? InventoryError)?.description, "f.json: p.imports[0].imports[0]: expected object, found number")
        }
        XCTAssertThrowsError(try unwrap("[1]")) { XCTAssertEqual(($0 as? InventoryError)?.message, "expected object, found array") }
    }

    func testInputFormOfInventoryJSON() throws {
        let inv = try InventoryFixtures.decode("input-form.json")
        XCTAssertEqual(inv.meta.name, "hand")
        XCTAssertEqual(inv.meta.domain, "lan", "deprecated meta.tld is the domain when domain is absent")
        XCTAssertEqual(inv.machines["jon"]?.tags, ["web", "backup", "all", "nixos"], "deduplicated, static tags, computed tags")
        XCTAssertEqual(inv.machines["sara"]?.tags, ["backup", "all", "darwin"])
        XCTAssertEqual(inv.machines["empty"]?.tags, ["all", "nixos"])
        XCTAssertEqual(inv.machines["empty"]?.machineClass, .nixos)
        let peer = try XCTUnwrap(inv.instances["zerotier"]?.roles["peer"])
        XCTAssertEqual(Array(peer.tags.keys), ["all"], "a list of tags is coerced to an attribute set")
        XCTAssertEqual(peer.settings.value, .object(["orbitMoons": .array([])]))
        XCTAssertEqual(inv.instances["borg"]?.module, ServiceInstance.Module(name: "borg", input: nil), "module.name defaults to the instance name")
    }

    func testMalformedInputsNameFileAndPath() {
        let cases: [(String, String)] = [
            (#"{"instances": {"zerotier": {"roles": {"controller": {"machines": ["cinnabar"]}}}}}"#,
             "bad.json: instances.zerotier.roles.controller.machines: expected object, found array"),
            (#"[]"#, "bad.json: expected object, found array"),
            (#"{"meta": {"name": 5}}"#, "bad.json: meta.name: expected string, found number"),
            (#"{"meta": []}"#, "bad.json: meta: expected object, found array"),
            (#"{"machines": {"a": {"machineClass": "windows"}}}"#, #"bad.json: machines.a.machineClass: expected "nixos" or "darwin", found "windows""#),
            (#"{"machines": {"a": {"tags": "web"}}}"#, "bad.json: machines.a.tags: expected array, found string"),
            (#"{"machines": {"a": {"tags": ["web", 3]}}}"#, "bad.json: machines.a.tags[1]: expected string, found number"),
            (#"{"machines": {"a": {"installedAt": "yesterday"}}}"#, "bad.json: machines.a.installedAt: expected integer, found string"),
            (#"{"machines": {"a": {"deploy": {"forwardAgent": "yes"}}}}"#, "bad.json: machines.a.deploy.forwardAgent: expected boolean, found string"),
            (#"{"machines": {"a": {"deploy": {"targetHost": 1}}}}"#, "bad.json: machines.a.deploy.targetHost: expected string, found number"),
            (#"{"machines": {"a.b": 3}}"#, #"bad.json: machines: invalid machine name "a.b": contains "."; allowed: a-z, A-Z, 0-9 and '-' (not first or last), as in a hostname"#),
            (#"{"instances": {"x;rm": {}}}"#, #"bad.json: instances: invalid instance name "x;rm": contains the shell metacharacter ";""#),
            (#"{"machines": []}"#, "bad.json: machines: expected object, found array"),
            (#"{"tags": {"web": "jon"}}"#, "bad.json: tags.web: expected array, found string"),
            (#"{"instances": {"z": {"module": {"name": 1}}}}"#, "bad.json: instances.z.module.name: expected string, found number"),
            (#"{"instances": {"z": {"module": {"input": false}}}}"#, "bad.json: instances.z.module.input: expected string, found boolean"),
            (#"{"instances": {"z": {"roles": {"r": {"tags": [1]}}}}}"#, "bad.json: instances.z.roles.r.tags[0]: expected string, found number"),
            (#"{"instances": {"z": {"roles": {"r": {"tags": {"t": 1}}}}}}"#, "bad.json: instances.z.roles.r.tags.t: expected object, found number"),
            (#"{"instances": {"z": {"roles": {"r": {"settings": "x"}}}}}"#, "bad.json: instances.z.roles.r.settings: expected object, found string"),
            (#"{"instances": {"z": {"roles": {"r": {"machines": {"m": {"settings": {"imports": [{"imports": [[]]}]}}}}}}}}"#,
             "bad.json: instances.z.roles.r.machines.m.settings.imports[0].imports[0]: expected object, found array"),
            (#"{"instances": {"z": {"roles": []}}}"#, "bad.json: instances.z.roles: expected object, found array"),
            (#"{"instances": 3}"#, "bad.json: instances: expected object, found number"),
            (#"{"machines": {"#, "bad.json: invalid JSON at line 1, column 15: expected a string key"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try InventoryDecoder(file: "bad.json").decode(text), text) { error in
                XCTAssertEqual((error as? InventoryError)?.description, expected, text)
            }
        }
    }

    func testDeeplyNestedOrHugeInputDoesNotCrash() {
        let deep = String(repeating: "[", count: 100_000)
        XCTAssertThrowsError(try InventoryDecoder(file: "deep.json").decode(deep)) { XCTAssertEqual(($0 as? InventoryError)?.file, "deep.json") }
    }

    func testDirectoryLoaderErrors() throws {
        let dir = try makeTempDir(self)
        XCTAssertThrowsError(try DirectoryInventoryLoader(directory: dir + "/nope").load()) {
            XCTAssertEqual(($0 as? InventoryError)?.description, "\(dir)/nope/inventory.json: no such directory: \(dir)/nope")
        }
        try writeFile(dir + "/inventory.json", #"{"machines": {"a": {}}}"#)
        try writeFile(dir + "/systems.json", #"{"a": 1}"#)
        XCTAssertThrowsError(try DirectoryInventoryLoader(directory: dir).load()) {
            XCTAssertEqual(($0 as? InventoryError)?.description, "\(dir)/systems.json: a: expected string, found number")
        }
        try writeFile(dir + "/systems.json", #"{"a": "x86_64-linux"}"#)
        try FileManager.default.createDirectory(atPath: dir + "/machines/b", withIntermediateDirectories: true)
        let inv = try DirectoryInventoryLoader(directory: dir).load()
        XCTAssertEqual(Array(inv.machines.keys), ["a", "b"], "machines/<name>/ registers machines")
        XCTAssertEqual(inv.machines["a"]?.system, "x86_64-linux")
        XCTAssertEqual(inv.clanDirectory, dir)
    }

    /// A systems.json above `backgroundSystemsBytes` is parsed on another thread while inventory.json
    /// is read: the same machines' systems, and its errors first, as for a small one.
    func testBigSystemsFileParsedAsideGivesTheSameSystemsAndErrors() throws {
        let dir = try makeTempDir(self)
        let n = 3000
        let names = (0..<n).map { String(format: "m%05d", $0) }
        let systems = names.enumerated().map { "\"\($0.element)\": \"\(["x86_64-linux", "aarch64-linux", "aarch64-darwin"][$0.offset % 3])\"" }
        let systemsJSON = "{\n" + systems.joined(separator: ",\n") + "\n}\n"
        XCTAssertGreaterThanOrEqual(systemsJSON.utf8.count, DirectoryInventoryLoader.backgroundSystemsBytes)
        try writeFile(dir + "/inventory.json", "{\"machines\": {" + names.map { "\"\($0)\": {}" }.joined(separator: ", ") + "}}")
        try writeFile(dir + "/systems.json", systemsJSON)
        let inv = try DirectoryInventoryLoader(directory: dir).load()
        let direct = try InventoryDecoder(file: dir + "/inventory.json").decode(bytes: Array(try String(contentsOfFile: dir + "/inventory.json", encoding: .utf8).utf8),
                                                                                 systems: Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.element, ["x86_64-linux", "aarch64-linux", "aarch64-darwin"][$0.offset % 3]) }))
        XCTAssertEqual(inv.machines.count, n)
        XCTAssertEqual(inv.machines["m00002"]?.system, "aarch64-darwin")
        XCTAssertTrue(Array(inv.machines.values) == Array(direct.machines.values), "the machines of a decode given the systems directly")
        try writeFile(dir + "/systems.json", systemsJSON.replacingOccurrences(of: "\"m02999\": \"aarch64-darwin\"", with: "\"m02999\": 1"))
        XCTAssertThrowsError(try DirectoryInventoryLoader(directory: dir).load()) {
            XCTAssertEqual(($0 as? InventoryError)?.description, "\(dir)/systems.json: m02999: expected string, found number")
        }
        try FileManager.default.removeItem(atPath: dir + "/inventory.json")
        XCTAssertThrowsError(try DirectoryInventoryLoader(directory: dir).load()) {
            XCTAssertEqual(($0 as? InventoryError)?.file, "\(dir)/systems.json", "systems.json's error comes first")
        }
    }

    func testDemoInventoryMatchesTheSeedFleet() throws {
        let inv = try DirectoryInventoryLoader(directory: InventoryFixtures.demo).load()
        XCTAssertEqual(inv.meta, Inventory.Meta(name: "test-clan", domain: "zt",
                                                description: "Phase 0: Architectural validation + infrastructure deployment"))
        let expected: [(String, Machine.Class, String, [String], String, String?)] = [
            ("argentum", .darwin, "aarch64-darwin", ["darwin", "workstation", "laptop", "fleet"], "christophersmith's laptop (primary user), cameron admin", nil),
            ("blackphos", .darwin, "aarch64-darwin", ["darwin", "workstation", "laptop", "fleet"], "raquel's laptop (primary user), crs58 admin", nil),
            ("cinnabar", .nixos, "x86_64-linux", ["nixos", "cloud", "hetzner", "controller"], "Primary VPS, zerotier controller", "root@cinnabar.zt"),
            ("electrum", .nixos, "x86_64-linux", ["nixos", "cloud", "hetzner", "peer"], "Secondary test VM, zerotier peer", "root@electrum.zt"),
            ("galena", .nixos, "x86_64-linux", ["nixos", "cloud", "gcp", "peer"], "GCP CPU node (e2-standard-8), zerotier peer", "root@galena.zt"),
            ("rosegold", .darwin, "aarch64-darwin", ["darwin", "workstation", "laptop", "fleet"], "janettesmith's laptop (primary user), cameron admin", nil),
            ("scheelite", .nixos, "x86_64-linux", ["nixos", "cloud", "gcp", "gpu", "peer"], "GCP GPU node (n1-standard-8, T4), zerotier peer", "root@scheelite.zt"),
            ("stibnite", .darwin, "aarch64-darwin", ["darwin", "workstation", "laptop", "controller"], "crs58's primary workstation, deployment controller", nil),
        ]
        XCTAssertEqual(Array(inv.machines.keys), expected.map(\.0))
        for (name, cls, system, tags, desc, target) in expected {
            let m = try XCTUnwrap(inv.machines[name])
            XCTAssertEqual(m.machineClass, cls, name)
            XCTAssertEqual(m.system, system, name)
            XCTAssertEqual(m.tags, tags + ["all"], name)
            XCTAssertEqual(m.description, desc, name)
            XCTAssertEqual(m.deploy.targetHost, target, name)
        }
        XCTAssertEqual(inv.machines["cinnabar"]?.installedAt, 1763061719)
        XCTAssertEqual(inv.machines["electrum"]?.installedAt, 1763061739)
        XCTAssertEqual(inv.machines["galena"]?.installedAt, 1775074866)
        XCTAssertEqual(inv.machines["scheelite"]?.installedAt, 1775078574)
        XCTAssertEqual(Set(inv.instances.keys), ["zerotier", "sshd", "emergency-access", "tor", "internet", "user-cameron",
                                                  "user-crs58", "user-tara", "kanban", "beads-ui", "openclaw"])
        for (name, module, input) in [("zerotier", "zerotier", "clan-core"), ("user-cameron", "users", "clan-core"), ("kanban", "kanban", "self"),
                                      ("beads-ui", "beads-ui", "self"), ("openclaw", "openclaw", "self")] {
            XCTAssertEqual(inv.instances[name]?.module, ServiceInstance.Module(name: module, input: input), name)
        }
    }
}
