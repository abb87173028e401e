@testable import FleetModel
import Foundation
import XCTest

/// The bench's stat floor (`VarsStatusIndex.recordStamps` / `replay`): the calls it replays are the
/// warm status's own, every one of them, in order.
final class VarsStampLogTests: XCTestCase {
    /// Two machines, one generator with a secret (linked to its machine and the admin) and a public value.
    private func tree() throws -> (dir: String, catalog: GeneratorCatalog) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-vars-stamps-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let fm = FileManager.default
        func write(_ rel: String, _ text: String) throws {
            try fm.createDirectory(atPath: ((dir + "/" + rel) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/" + rel))
        }
        func link(_ target: String, _ rel: String) throws {
            try fm.createDirectory(atPath: ((dir + "/" + rel) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try fm.createSymbolicLink(atPath: dir + "/" + rel, withDestinationPath: target)
        }
        func keyJSON(_ k: String) -> String { "[{\"publickey\": \"\(k)\", \"type\": \"age\"}]" }
        try write("sops/users/admin/key.json", keyJSON("age1admin"))
        for m in ["m1", "m2"] {
            try write("sops/machines/\(m)/key.json", keyJSON("age1\(m)"))
            let g = "vars/per-machine/\(m)/g"
            try write(g + "/s/secret", "{\"data\": \"ENC[x]\", \"sops\": {\"age\": [{\"recipient\": \"age1\(m)\", \"enc\": \"x\"}, {\"recipient\": \"age1admin\", \"enc\": \"x\"}]}}")
            try link("../../../../../../sops/machines/" + m, g + "/s/machines/" + m)
            try link("../../../../../../sops/users/admin", g + "/s/users/admin")
            try write(g + "/p/value", "v")
        }
        try write("generators.json", """
            {"version": 1, "templates": {"t": {"files": {"s": {}, "p": {"secret": false}}}},
             "machines": {"m1": {"generators": {"g": {"template": "t"}}}, "m2": {"generators": {"g": {"template": "t"}}}}}
            """)
        return (dir, try GeneratorsFile(path: dir + "/generators.json").load())
    }

    func testTheRecordedCallsAreTheWarmRunsStampsInOrder() throws {
        let t = try tree()
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-vars-index-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: cache) }
        var index = VarsStatusIndex(clanDirectory: t.dir, cacheDirectory: cache)
        index.settleSeconds = 0
        let machines = t.catalog.machineNames
        let cold = try index.run(machines, catalog: t.catalog)
        let warm = try index.run(machines, catalog: t.catalog)
        XCTAssertEqual(warm.stats.misses, 0)
        let (recorded, recording) = try index.recordStamps(machines, catalog: t.catalog)
        XCTAssertEqual(recorded.misses, 0)

        let real = t.dir  // link targets are absolute, `..` applied lexically
        func generator(_ m: String, lstat: [String]) -> [String] {
            // Files in name order: the public value; the secret: itself, its link folders (each new
            // link target checked for being a link once per reader), its `groups/`; the validation hash.
            ["machine g/p/value", "machine g/s/secret", "machine g/s/machines"] + (lstat.first.map { ["lstat " + $0] } ?? [])
                + ["machine g/s/users"] + lstat.dropFirst().map { "lstat " + $0 }
                + ["machine g/s/groups", "machine g/.validation-hash"]
        }
        let expected: [[[String]]] = [
            // Both key folders listed;
            [["clan sops/users", "clan sops/machines"]],
            // every key.json (one part: three files);
            [["clan sops/users/admin/key.json", "clan sops/machines/m1/key.json", "clan sops/machines/m2/key.json"]],
            // one chunk (two machines): each machine's directory opened, its generators stamped from it.
            [["open vars/per-machine/m1"] + generator("m1", lstat: [real + "/sops/machines/m1", real + "/sops/users/admin"])
                + ["open vars/per-machine/m2"] + generator("m2", lstat: [real + "/sops/machines/m2"])],
        ]
        let names: [VarsStampLog.Op: String] = [.openMachine: "open", .statInClan: "clan", .statInMachine: "machine", .stat: "stat", .lstat: "lstat"]
        XCTAssertEqual(recording.logs.map { $0.map { VarsStampLog.calls($0).map { names[$0.op]! + " " + $0.path } } }, expected)
        // Every call of the warm runs is recorded, and replayed.
        let stamps = expected.joined().joined().filter { !$0.hasPrefix("open ") }.count
        XCTAssertEqual(recording.stamps, stamps)
        XCTAssertEqual(recording.machineOpens, 2)
        XCTAssertEqual(warm.stats.stamps, stamps)
        XCTAssertEqual(cold.stats.stamps, stamps)
        XCTAssertEqual(recorded.stamps, stamps)
        XCTAssertEqual(index.replay(recording), stamps)
    }

    /// The key index read in parts over threads (`VarsStatusIndex.run`, 64 key files or more) is the
    /// one a single reader builds (`SopsKeyIndex(reader:)`): the same keys, and the unreadable files
    /// among the problems in the same order (users first, names sorted), cold and warm; the absent
    /// ones left out.
    func testKeyFilesReadInPartsGiveTheSingleReadersIndex() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-vars-keys-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        func write(_ rel: String, _ text: String) throws {
            try FileManager.default.createDirectory(atPath: ((dir + "/" + rel) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/" + rel))
        }
        for u in 0..<7 { try write("sops/users/u\(u)/key.json", u == 3 ? "{" : "[{\"publickey\": \"age1u\(u)\", \"type\": \"age\"}]") }
        for m in 0..<150 {
            let name = String(format: "m%03d", m)
            if m % 31 == 5 { try FileManager.default.createDirectory(atPath: dir + "/sops/machines/" + name, withIntermediateDirectories: true); continue }
            try write("sops/machines/\(name)/key.json", m % 17 == 2 ? "[1]" : "[{\"publickey\": \"age1\(name)\", \"type\": \"age\"}, {\"publickey\": \"age1shared\", \"type\": \"age\"}]")
        }
        try write("generators.json", "{\"version\": 1, \"machines\": {}}")
        let catalog = try GeneratorsFile(path: dir + "/generators.json").load()
        let single = SopsKeyIndex(reader: VarsFactReader(root: dir))
        XCTAssertEqual(single.problems.count, 1 + 8)
        XCTAssertEqual(single.machines.count, 150 - 5 - 8)
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-vars-index-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: cache) }
        var index = VarsStatusIndex(clanDirectory: dir, cacheDirectory: cache)
        index.settleSeconds = 0
        index.threads = 3
        for _ in 0..<2 {
            let keys = try index.run([], catalog: catalog).keys
            XCTAssertEqual(keys.users, single.users)
            XCTAssertEqual(keys.machines, single.machines)
            XCTAssertEqual(keys.problems, single.problems)
            XCTAssertEqual(keys.ownersByKey, single.ownersByKey)
        }
        let recording = try index.recordStamps([], catalog: catalog).recording
        XCTAssertEqual(recording.logs.map(\.count), [1, 3, 1])
    }
}
