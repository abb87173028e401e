import FleetModel
import Foundation
import XCTest

final class VarsDefinitionTests: XCTestCase {
    private func parse(_ text: String) throws -> GeneratorCatalog {
        try GeneratorsFile(path: "generators.json").parse(try JSONParser.parse(text))
    }

    func testDefaultsTemplatesAndMachineSubstitution() throws {
        let c = try parse("""
            {"templates": {"cert": {"dependencies": ["ca"], "files": {"cert.pub": {"secret": false}},
                                    "validation": {"host": "@machine@.zt"}, "script": "echo @machine@ > $out/cert.pub"},
                           "ca": {"share": true, "files": {"key": {"deploy": false}, "key.pub": {"secret": false}},
                                  "prompts": {"pw": {"type": "hidden", "persist": true}}}},
             "machines": {"a": {"generators": {"cert": {"template": "cert"}, "ca": {"template": "ca"}}},
                          "b": {"defaultGroups": ["admins"], "generators": {"cert": {"template": "cert"}, "ca": {"template": "ca"}}}}}
            """)
        XCTAssertEqual(c.generators.count, 3, "ca is de-duplicated")
        let ca = try XCTUnwrap(c.generators[.shared("ca")])
        XCTAssertEqual(ca.machines, ["a", "b"])
        XCTAssertEqual(ca.files.map(\.name), ["key", "key.pub", "pw"], "persisted prompt adds a secret file")
        XCTAssertEqual(ca.files[0].deploy, false)
        XCTAssertEqual(ca.files[0].mode, "0400")
        XCTAssertEqual(ca.files[0].neededFor, .services)
        XCTAssertEqual(ca.prompts.first?.kind, .hidden)
        let certA = try XCTUnwrap(c.generators[.perMachine("cert", "a")])
        XCTAssertEqual(certA.dependencies, [.shared("ca")])
        XCTAssertEqual(certA.definition.script, "echo a > $out/cert.pub")
        XCTAssertNotEqual(certA.definition.validationHash, c.generators[.perMachine("cert", "b")]?.definition.validationHash)
        XCTAssertEqual(c.groups(for: "b"), ["admins"])
        XCTAssertEqual(c.dependents(of: .shared("ca")), [.perMachine("cert", "a"), .perMachine("cert", "b")])
    }

    /// A generator that is only `{"template": t}` (no `@machine@` in t) is parsed once and reused:
    /// the same definition as written out in full, and every machine's name is still checked.
    func testTemplateOnlyGeneratorsEqualInlineOnesAndMachineNamesAreChecked() throws {
        let t = #"{"files": {"key": {}, "key.pub": {"secret": false}}, "validation": {"v": 1}, "script": "echo x"}"#
        let viaTemplate = try parse("""
            {"templates": {"k": \(t)}, "machines": {"a": {"generators": {"g": {"template": "k"}}},
                                                   "b": {"generators": {"g": {"template": "k"}, "h": {"template": "k"}}}}}
            """)
        let inline = try parse("""
            {"machines": {"a": {"generators": {"g": \(t)}}, "b": {"generators": {"g": \(t), "h": \(t)}}}}
            """)
        XCTAssertEqual(viaTemplate.declarations, inline.declarations)
        XCTAssertEqual(viaTemplate.generators.count, 3)
        XCTAssertEqual(viaTemplate.generators[.perMachine("h", "b")]?.definition.name, "h")
        XCTAssertThrowsError(try parse("""
            {"templates": {"k": \(t)}, "machines": {"a": {"generators": {"g": {"template": "k"}}},
                                                   "b;x": {"generators": {"g": {"template": "k"}}}}}
            """)) { e in XCTAssertTrue("\(e)".hasPrefix("generators.json: machines.b;x.generators.g: "), "\(e)") }
    }

    func testSharedDefinitionsMustAgree() {
        XCTAssertThrowsError(try parse("""
            {"machines": {"a": {"generators": {"g": {"share": true, "files": {"x": {}}}}},
                          "b": {"generators": {"g": {"share": true, "files": {"y": {}}}}}}}
            """)) { e in
            XCTAssertEqual("\(e)", "generators.json: Machines a and b have different definitions for shared generator 'g' (differ in: files)")
        }
    }

    func testBadInputNamesFileAndField() {
        let cases: [(String, String)] = [
            (#"{"machines": {"a": {"generators": {"g": {"files": {"x": {"secret": "yes"}}}}}}}"#,
             "generators.json: machines.a.generators.g.files.x.secret: expected boolean, found string"),
            (#"{"machines": {"a": {"generators": {"g": {"prompts": {"p": {"type": "secret"}}}}}}}"#,
             "generators.json: machines.a.generators.g.prompts.p.type: expected one of hidden, line, multiline, multiline-hidden, found \"secret\""),
            (#"{"machines": {"a": {"generators": {"g": {"template": "nope"}}}}}"#,
             "generators.json: machines.a.generators.g.template: no template named \"nope\""),
            (#"{"machines": {"a": {"generators": {"g": {"scirpt": "x"}}}}}"#,
             "generators.json: machines.a.generators.g.scirpt: unknown field"),
            (#"{"machines": {"a": {"generators": {"x": {"dependencies": ["y"]}, "y": {"dependencies": ["x"]}}}}}"#,
             "generators.json: dependency cycle: x (machine: a) -> y (machine: a) -> x (machine: a)"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try parse(text), message) { e in XCTAssertEqual("\(e)", message) }
        }
    }

    /// Real clan's zerotier: every machine declares the shared `zerotier-network-<i>`, which depends on
    /// `zerotier-identity-<controller>`, a shared generator only the controller declares. clan treats
    /// a dependency the machine does not declare as shared (clan_lib/vars/generator.py:333-347).
    func testDependencyOnASharedGeneratorDeclaredByAnotherMachine() throws {
        let c = try parse("""
            {"templates": {"net": {"share": true, "dependencies": ["id-a"], "files": {"network-id": {"secret": false}}}},
             "machines": {"a": {"generators": {"id-a": {"share": true, "files": {"identity-secret": {}}}, "net": {"template": "net"},
                                               "ip-a": {"share": true, "dependencies": ["id-a", "net"]}}},
                          "b": {"generators": {"id-b": {"share": true}, "net": {"template": "net"},
                                               "ip-b": {"share": true, "dependencies": ["id-b", "net"]}}}}}
            """)
        let net = try XCTUnwrap(c.generators[.shared("net")])
        XCTAssertEqual(net.machines, ["a", "b"])
        XCTAssertEqual(net.dependencies, [.shared("id-a")])
        XCTAssertEqual(try c.resolveDependency(.shared("id-a"), of: net).id, .shared("id-a"), "found through machine a, which declares net too")
        // Generating only machine b: id-a is missing, so requesting net pulls it in before net and ip-b.
        let none: (GeneratorID) -> Bool = { _ in false }
        XCTAssertEqual(VarsGraph.requestedClosure(requested: [.shared("net")], catalog: c, exists: none),
                       [.shared("id-a"), .shared("net"), .shared("ip-a"), .shared("ip-b")])
        // Rotating the controller's identity reaches every machine's network-dependent generators.
        XCTAssertEqual(VarsGraph.addDependents([.shared("id-a")], catalog: c),
                       [.shared("id-a"), .shared("net"), .shared("ip-a"), .shared("ip-b")])
    }

    /// What clan refuses only when the generator runs (`_resolve_dep_generator`), fleet refuses when
    /// planning, with clan's text, before asking or running anything.
    func testUnresolvableDependenciesFailThePlanWithClansText() throws {
        let cases: [(String, String)] = [
            (#"{"machines": {"a": {"generators": {"g": {"dependencies": ["h"], "files": {"x": {}}}}}}}"#,
             "Generator 'g' depends on 'h', but 'h' was not found.\nEither define it as:\n  - shared generator 'h' on any machine, or\n  - per-machine generator 'h' on: a"),
            (#"{"machines": {"a": {"generators": {"s": {"share": true, "dependencies": ["p"], "files": {"x": {}}}, "p": {}}}}}"#,
             "Shared generators must not depend on machine specific generators. Generator 's' (shared) depends on 'p' (machine-specific)"),
            // A per-machine generator of b cannot use a shared generator only a declares (clan looks
            // among the generators of the machines declaring the dependent).
            (#"{"machines": {"a": {"generators": {"s": {"share": true}}}, "b": {"generators": {"g": {"dependencies": ["s"], "files": {"x": {}}}}}}}"#,
             "Generator 'g' depends on 's', but 's' was not found.\nEither define it as:\n  - shared generator 's' on any machine, or\n  - per-machine generator 's' on: b"),
        ]
        for (text, message) in cases {
            // Every generator with a file, so nothing counts as already generated in /nonexistent.
            let c = try parse(text)
            let e = VarsEngine(clanDirectory: "/nonexistent", catalog: c, backend: NativeVarsSecrets(identities: []), runner: ProcessVarsRunner())
            XCTAssertThrowsError(try e.plan(), message) { err in XCTAssertEqual("\(err)", message) }
        }
    }

    /// The hash must be what Nix computes, or every generator would show as outdated.
    func testValidationHashMatchesRealNix() throws {
        let value = try JSONParser.parse(#"{"zeta": "x\ny \"q\" é", "alpha": {"n": 12, "b": true, "s": "a/b"}, "nul": null}"#)
        let nixExpr = #"builtins.hashString "sha256" (builtins.toJSON { zeta = "x\ny \"q\" é"; alpha = { n = 12; b = true; s = "a/b"; }; nul = null; })"#
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["nix-instantiate", "--eval", "--expr", nixExpr]
        let out = Pipe()
        p.standardOutput = out
        do { try p.run() } catch { XCTFail("nix-instantiate is required for this test (apt install nix-bin): \(error)"); return }
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(ValidationHash.hash(of: value), text)
        XCTAssertNil(ValidationHash.hash(of: .null))
    }

    func testClosuresLikeClan() throws {
        // ca (shared) <- cert(a), cert(b); key(a) independent; user(a) <- pw (shared)
        let c = try parse("""
            {"templates": {"ca": {"share": true}, "cert": {"dependencies": ["ca"]}, "pw": {"share": true}},
             "machines": {"a": {"generators": {"ca": {"template": "ca"}, "cert": {"template": "cert"}, "key": {},
                                               "pw": {"template": "pw"}, "user": {"dependencies": ["pw"]}}},
                          "b": {"generators": {"ca": {"template": "ca"}, "cert": {"template": "cert"}}}}}
            """)
        let existing: Set<GeneratorID> = [.shared("ca"), .perMachine("cert", "a"), .perMachine("cert", "b"), .perMachine("key", "a")]
        let exists: (GeneratorID) -> Bool = { existing.contains($0) }
        // Rotating the shared CA from machine a regenerates every machine's cert after it.
        XCTAssertEqual(VarsGraph.requestedClosure(requested: [.shared("ca")], catalog: c, exists: exists),
                       [.shared("ca"), .perMachine("cert", "a"), .perMachine("cert", "b")])
        // Missing closure: pw and user are missing; user depends on pw so pw comes first.
        let reqA = c.generators(for: "a").map(\.id)
        XCTAssertEqual(VarsGraph.allMissingClosure(requested: reqA, catalog: c, exists: exists), [.shared("pw"), .perMachine("user", "a")])
        // Requesting user adds its missing dependency pw.
        XCTAssertEqual(VarsGraph.requestedClosure(requested: [.perMachine("user", "a")], catalog: c, exists: exists),
                       [.shared("pw"), .perMachine("user", "a")])
    }
}
