@testable import FleetModel
import XCTest

final class GeneratorCatalogTests: XCTestCase {
    /// `statusGenerators(for:)` (a status's walk, without looking per-machine generators up) is
    /// `generators(for:)` sorted by name bytes, as the status sorted it before: declarations in and out
    /// of name order, shared generators (their definition is the first declarer's), a machine with none,
    /// a shared and a per-machine generator of one name, and a machine declaring a name twice.
    func testStatusGeneratorsAreTheMachinesGeneratorsInNameOrder() throws {
        func def(_ name: String, share: Bool = false, hash: String? = nil, owner: String = "root") -> GeneratorDefinition {
            GeneratorDefinition(name: name, share: share, files: [VarFileDefinition(name: "f", owner: owner)], validationHash: hash)
        }
        func expected(_ c: GeneratorCatalog, _ m: String) -> [String] {
            c.generators(for: m).sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
                .map { "\($0.id.relDir) \($0.definition.validationHash ?? "-") \($0.definition.files[0].owner)" }
        }
        func actual(_ c: GeneratorCatalog, _ m: String) -> [String] {
            c.statusGenerators(for: m).map { "\($0.id.relDir) \($0.definition.validationHash ?? "-") \($0.definition.files[0].owner)" }
        }
        let catalogs = [
            try GeneratorCatalog(machines: [
                "a": [def("b"), def("a"), def("Z"), def("ü"), def("s", share: true, hash: "first")],
                "b": [def("a"), def("b"), def("s", share: true, hash: "first")],
                "c": [],
                "d": [def("x", share: true), def("x", hash: "own"), def("w")],
                "e": [def("w"), def("x", hash: "own"), def("x", share: true)],
            ]),
            // (clan's check of equal definitions ignores a file's owner)
            try GeneratorCatalog(machines: ["a": [def("g", owner: "one"), def("g", owner: "two"), def("f")], "b": [def("g")]]),
        ]
        for c in catalogs {
            for m in c.machineNames + ["absent"] { XCTAssertEqual(actual(c, m), expected(c, m), m) }
        }
        XCTAssertEqual(actual(catalogs[0], "a"), ["per-machine/a/Z - root", "per-machine/a/a - root", "per-machine/a/b - root",
                                                 "shared/s first root", "per-machine/a/ü - root"])
        XCTAssertEqual(actual(catalogs[0], "e"), ["per-machine/e/w - root", "shared/x - root", "per-machine/e/x own root"])
        XCTAssertEqual(actual(catalogs[1], "a"), ["per-machine/a/f - root", "per-machine/a/g - one", "per-machine/a/g - one"])
    }
}
