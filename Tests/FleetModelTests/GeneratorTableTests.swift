import XCTest
@testable import FleetModel

/// `GeneratorTable` answers like the `[GeneratorID: Generator]` it replaced.
final class GeneratorTableTests: XCTestCase {
    private func gen(_ name: String, _ machine: String?, machines: [String] = []) -> Generator {
        Generator(id: GeneratorID(name: name, machine: machine), definition: GeneratorDefinition(name: name), machines: machines, dependencies: [])
    }

    func testAgreesWithADictionaryUnderRandomEdits() {
        var table = GeneratorTable()
        var dict: [GeneratorID: Generator] = [:]
        var rng = SystemRandomNumberGenerator()
        let ids = (0..<40).map { GeneratorID(name: "g\($0 % 10)", machine: $0 < 30 ? "m\($0 / 10)" : nil) }
        for step in 0..<2000 {
            let id = ids.randomElement(using: &rng)!
            switch Int.random(in: 0..<4, using: &rng) {
            case 0:
                table[id] = nil; dict[id] = nil
            case 1:
                let m = "x\(step)"
                let a = table.modify(id) { $0.machines.append(m) }
                if dict[id] != nil { dict[id]!.machines.append(m) }
                XCTAssertEqual(a, dict[id] != nil)
            default:
                let g = gen(id.name, id.machine, machines: ["s\(step)"])
                table[id] = g; dict[id] = g
            }
            XCTAssertEqual(table[id], dict[id])
            XCTAssertEqual(table.count, dict.count)
        }
        XCTAssertEqual(Set(table.keys), Set(dict.keys))
        for id in ids { XCTAssertEqual(table[id], dict[id]) }
        XCTAssertEqual(table.values.map(\.id), table.keys)
    }

    func testKeepsInsertionOrderAndReplacesInPlace() {
        var t = GeneratorTable()
        t[.shared("b")] = gen("b", nil)
        t[.perMachine("a", "m")] = gen("a", "m")
        t[.shared("b")] = gen("b", nil, machines: ["m"])
        XCTAssertEqual(t.keys, [.shared("b"), .perMachine("a", "m")])
        XCTAssertEqual(t[.shared("b")]?.machines, ["m"])
        t[.shared("b")] = nil
        XCTAssertEqual(t.keys, [.perMachine("a", "m")])
        XCTAssertEqual(t[.perMachine("a", "m")]?.name, "a", "positions follow a removal")
        XCTAssertFalse(t.modify(.shared("b")) { _ in XCTFail("no such generator") })
    }
}
