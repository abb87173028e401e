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
            (#"{"machines": {"a": {"generators": {"g": {"dependencies": ["h"]}}}}}"#,
             "generators.json: machines.a.generators.g.dependencies: generator \"h\" is not declared by machine a"),
            (#"{"machines": {"a": {"generators": {"g": {"scirpt": "x"}}}}}"#,
             "generators.json: machines.a.generators.g.scirpt: unknown field"),
            (#"{"machines": {"a": {"generators": {"s": {"share": true, "dependencies": ["p"]}, "p": {}}}}}"#,
             "generators.json: Shared generators must not depend on machine specific generators. Generator 's' (shared) depends on 'p' (machine-specific)"),
            (#"{"machines": {"a": {"generators": {"x": {"dependencies": ["y"]}, "y": {"dependencies": ["x"]}}}}}"#,
             "generators.json: dependency cycle: x (machine: a) -> y (machine: a) -> x (machine: a)"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try parse(text), message) { e in XCTAssertEqual("\(e)", message) }
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
