import Foundation
import XCTest
import FleetModel
@testable import FleetTUI

/// `fleet list --json` writes each machine's members straight as bytes (`MachineJSON.write` through
/// `JSONWriter.appendObjects`); `fleet show --json` and scripts rely on the shape of
/// `MachineJSON.members`. Both must give the same bytes, null fields and empty lists included.
final class MachineJSONTests: XCTestCase {
    private func streamed(_ machines: [Machine], _ fleet: ResolvedFleet?, _ w: JSONWriter) -> [UInt8] {
        var out: [UInt8] = []
        w.appendObjects(machines, into: &out) { m, members, out in MachineJSON.write(m, fleet: fleet, &members, into: &out) }
        return out
    }

    func testStreamedMachinesEqualTheTree() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-mjson-\(UUID().uuidString.prefix(8))").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticFleet(machines: 400, seed: 9).write(to: dir)
        var odd = Machine(name: "odd", machineClass: .darwin, system: "aarch64-darwin", tags: [],
                          description: "quote \" backslash \\ tab \t ü", installedAt: -3,
                          deploy: Machine.Deploy(targetHost: "root@[fd00::1]", buildHost: "b\u{1}"))
        odd.icon = "x"
        for inv in [try DirectoryInventoryLoader(directory: dir).load(), try TestFleet.demoInventory()] {
            let fleet = ResolvedFleet(inv)
            for w in [JSONWriter(indent: "  "), JSONWriter.compact, JSONWriter(indent: "\t", ensureASCII: true, escapeHTML: true)] {
                for (machines, f) in [(inv.machineList, fleet as ResolvedFleet?), (inv.machineList + [odd], nil), ([], fleet)] {
                    let tree = w.bytes(.array(machines.map { MachineJSON.object($0, fleet: f) }))
                    XCTAssertEqual(streamed(machines, f, w), tree, "\(machines.count) machines, indent \(String(describing: w.indent))")
                }
            }
        }
    }
}
