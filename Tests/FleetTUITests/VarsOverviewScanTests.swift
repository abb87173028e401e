import Foundation
import XCTest
import FleetModel
@testable import FleetTUI

/// The Vars screen's overview scans only what its statuses did not report (`VarsDiskScan.Covered`);
/// what it shows must be what the whole disk scan gave: orphans, keys nobody owns, `sops/secrets`,
/// public values, and the files no definition declares.
final class VarsOverviewScanTests: XCTestCase {
    private var work = ""

    override func setUpWithError() throws {
        work = NSTemporaryDirectory() + "fleet-overview-scan-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

    /// A copy of the demo clan where (a) a declared secret has a recipient nobody owns and (b) a
    /// declared generator keeps a file its definition no longer declares, whose secret has another one.
    private func demoWithStrays() throws -> (dir: String, declaredUnknown: String, leftoverUnknown: String) {
        let dir = work + "/clan"
        try FileManager.default.copyItem(atPath: TestFleet.demoDirectory, toPath: dir)
        let gen = dir + "/vars/per-machine/scheelite/initrd-ssh"
        let declaredUnknown = "age1" + String(repeating: "q", count: 58)
        let leftoverUnknown = "age1" + String(repeating: "p", count: 58)
        func addRecipient(_ key: String, to path: String) throws {
            var doc = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
            var sops = try XCTUnwrap(doc["sops"] as? [String: Any])
            var age = try XCTUnwrap(sops["age"] as? [[String: Any]])
            age.append(["recipient": key, "enc": age[0]["enc"] ?? ""])
            sops["age"] = age
            doc["sops"] = sops
            try JSONSerialization.data(withJSONObject: doc).write(to: URL(fileURLWithPath: path))
        }
        try FileManager.default.createDirectory(atPath: gen + "/leftover", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: gen + "/id_ed25519/secret", toPath: gen + "/leftover/secret")
        try addRecipient(leftoverUnknown, to: gen + "/leftover/secret")
        try addRecipient(declaredUnknown, to: gen + "/id_ed25519/secret")
        return (dir, declaredUnknown, leftoverUnknown)
    }

    func testTheCoveredScanShowsWhatTheWholeScanShowed() throws {
        let (dir, declaredUnknown, leftoverUnknown) = try demoWithStrays()
        let repo = VarsRepository(clanDirectory: dir)
        let catalog = try XCTUnwrap(try repo.loadDirectoryCatalog())
        for cache in [nil, work + "/cache", work + "/cache"] {   // no index, then a cold and a warm one
            let o = try VarsOverview.load(repository: repo, catalog: catalog, adminRecipients: nil,
                                          index: VarsStatusIndex(clanDirectory: dir, cacheDirectory: cache))
            let full = VarsDiskScan.scan(clanDirectory: dir, inventoryMachines: repo.inventoryMachines())

            XCTAssertEqual(o.scan.unknownKeys, full.unknownKeys)
            XCTAssertTrue(o.scan.unknownKeys.contains(SopsKeyRef(declaredUnknown)), "a declared secret's recipient nobody owns")
            XCTAssertTrue(o.scan.unknownKeys.contains(SopsKeyRef(leftoverUnknown)), "an undeclared file's recipient nobody owns")
            XCTAssertEqual(o.scan.orphanMachines, full.orphanMachines)
            XCTAssertFalse(o.scan.orphanMachines.isEmpty)
            XCTAssertEqual(o.scan.entries.filter(\.orphan), full.entries.filter(\.orphan))
            XCTAssertFalse(o.scan.entries.filter(\.orphan).isEmpty)
            XCTAssertEqual(o.scan.sopsSecrets, full.sopsSecrets)
            XCTAssertEqual(o.scan.keys.machines, full.keys.machines)
            XCTAssertEqual(o.scan.entries.filter { $0.file == "leftover" }, full.entries.filter { $0.file == "leftover" })
            XCTAssertEqual(o.scan.entries.filter { $0.file == "leftover" }.count, 1)
            XCTAssertLessThan(o.scan.entries.count, full.entries.count, "declared files are not scanned again")

            // Every public file a status reports carries the bytes the whole scan read.
            var values: [String: [UInt8]] = [:]
            for e in full.entries where e.kind == .public { values["\(e.generatorID.relDir)/\(e.file)"] = e.value }
            var shown = 0
            for m in o.machines + o.exports {
                for g in m.generators {
                    for f in g.files where !f.file.secret {
                        XCTAssertEqual(f.value, values["\(g.id.relDir)/\(f.file.name)"], "\(g.id.relDir)/\(f.file.name)")
                        if f.value != nil { shown += 1 }
                    }
                }
            }
            XCTAssertGreaterThan(shown, 10)
            let rows = VarsRows.build(o).rows
            let declaredMachines = Set(o.machines.map(\.machine))
            XCTAssertTrue(rows.contains { r in
                r.machine.map(declaredMachines.contains) == true && r.publicValue?.hasPrefix("ssh-ed25519 ") == true
            }, "a declared public file's row shows its value")
            XCTAssertTrue(rows.contains { $0.text == "keys with unknown owner" && $0.detail.contains(declaredUnknown) })
        }
    }

    /// The scan in parts over threads (`VarsStatusIndex.scan`) is the one reader's walk: same entries in
    /// the same order, hashes, orphans and keys nobody owns — with no index, a cold and a warm one.
    func testTheScanInPartsIsTheSingleReadersScan() throws {
        let dir = work + "/big"
        let names = (0..<200).map { String(format: "m%03d", $0) }
        try BenchVarsTree(machineNames: names, generators: 2).write(to: dir)
        try "h1\n".write(toFile: dir + "/vars/per-machine/m007/gen-1/.validation-hash", atomically: true, encoding: .utf8)
        let inventory = Set(names.dropLast(3))   // the last three are orphans
        let one = VarsDiskScan.scan(clanDirectory: dir, inventoryMachines: inventory)
        XCTAssertEqual(one.entries.count, 200 * 2 * 2)
        XCTAssertEqual(one.orphanMachines, Array(names.suffix(3)))
        for cache in [nil, work + "/cache", work + "/cache"] {
            var index = VarsStatusIndex(clanDirectory: dir, cacheDirectory: cache)
            index.threads = 3
            let parts = index.scan(inventoryMachines: inventory).scan
            XCTAssertEqual(parts.entries, one.entries)
            XCTAssertEqual(parts.validationHashes, one.validationHashes)
            XCTAssertEqual(parts.validationHashes["per-machine/m007/gen-1"], "h1")
            XCTAssertEqual(parts.orphanMachines, one.orphanMachines)
            XCTAssertEqual(parts.unknownKeys, one.unknownKeys)
            XCTAssertEqual(parts.sopsSecrets, one.sopsSecrets)
        }
    }

    /// The overview's status and scan share one index load and one store: a warm overview reads
    /// nothing (every fact of both is stored) and gives what the cold one gave.
    func testTheOverviewStoresTheStatusAndTheScanOnce() throws {
        let (dir, _, _) = try demoWithStrays()
        let repo = VarsRepository(clanDirectory: dir)
        let catalog = try XCTUnwrap(try repo.loadDirectoryCatalog())
        var index = VarsStatusIndex(clanDirectory: dir, cacheDirectory: work + "/cache")
        index.settleSeconds = 0
        let cold = try index.overview(catalog.machineNames, catalog: catalog, adminRecipients: nil, inventoryMachines: repo.inventoryMachines())
        XCTAssertGreaterThan(cold.stats.misses, 0)
        XCTAssertGreaterThan(cold.stats.storedEntries, 0)
        let scanOnly = index.scan(inventoryMachines: repo.inventoryMachines(), covered: VarsDiskScan.Covered(catalog: catalog))
        XCTAssertEqual(scanOnly.stats.misses, 0, "the scan's facts were stored with the status's")
        XCTAssertGreaterThan(scanOnly.stats.hits, 0)
        let warm = try index.overview(catalog.machineNames, catalog: catalog, adminRecipients: nil, inventoryMachines: repo.inventoryMachines())
        XCTAssertEqual(warm.stats.misses, 0)
        XCTAssertGreaterThan(warm.stats.hits, 0)
        XCTAssertEqual(warm.statuses, cold.statuses)
        XCTAssertEqual(warm.scan.entries, cold.scan.entries)
        XCTAssertEqual(warm.scan.unknownKeys, cold.scan.unknownKeys)
        XCTAssertEqual(warm.scan.sopsSecrets, cold.scan.sopsSecrets)
    }

    /// The Vars screen lets the catalog go before it builds its rows; the rows are the same.
    func testRowsAreTheSameWithoutTheCatalog() throws {
        let repo = VarsRepository(clanDirectory: TestFleet.demoDirectory)
        var o = try VarsOverview.load(repository: repo, catalog: try repo.loadDirectoryCatalog(), adminRecipients: nil,
                                      index: VarsStatusIndex(clanDirectory: TestFleet.demoDirectory, cacheDirectory: nil))
        let before = VarsRows.build(o)
        o.releaseCatalog()
        XCTAssertNil(o.catalog)
        XCTAssertTrue(o.hasDefinitions)
        XCTAssertEqual(VarsRows.build(o), before)
        XCTAssertTrue(before.hasDefinitions)
    }

    /// `vars check` does not read public values (its status only stats them).
    func testTheCheckStatusCarriesNoValues() throws {
        let repo = VarsRepository(clanDirectory: TestFleet.demoDirectory)
        let catalog = try XCTUnwrap(try repo.loadDirectoryCatalog())
        let statuses = try VarsStatusIndex(clanDirectory: TestFleet.demoDirectory, cacheDirectory: nil).statuses(for: catalog.machineNames, catalog: catalog)
        XCTAssertFalse(statuses.isEmpty)
        XCTAssertTrue(statuses.allSatisfy { $0.generators.allSatisfy { $0.files.allSatisfy { $0.value == nil } } })
    }
}
