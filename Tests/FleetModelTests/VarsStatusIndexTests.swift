import FleetModel
import Foundation
import XCTest

/// `VarsStatusIndex`: the same status as reading every file (`VarsStatusChecker`), whatever changed
/// between runs and whatever state the index file is in.
final class VarsStatusIndexTests: XCTestCase {
    let alice = SopsKeyRef("age1lmqahdfgccggl5gyqxm6840pevsane3pqxsgsz5wcyvdtshw7y8qduk9tf")
    let bob = SopsKeyRef("age12mts0eh048k764fqtkjulhd7z4a6duhwqmwyzw0up0vpc0ehly3seddkpa")

    private struct Setup {
        let dir: String
        let catalog: GeneratorCatalog
        var index: VarsStatusIndex
    }

    /// The status fixture and an index over it in a private cache directory. `settleSeconds` 0: the
    /// fixture was just copied, and the tests make every change visible in size, mtime, ctime or inode.
    private func setup(settle: Double = 0) throws -> Setup {
        let dir = try VarsFixtures.copy("status", test: self)
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-vars-index-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: cache) }
        var index = VarsStatusIndex(clanDirectory: dir, cacheDirectory: cache)
        index.settleSeconds = settle
        return Setup(dir: dir, catalog: try GeneratorsFile(path: dir + "/generators.json").load(), index: index)
    }

    /// Index status == a plain read of every file; returns the index run's counters.
    @discardableResult
    private func assertAgrees(_ s: Setup, file: StaticString = #filePath, line: UInt = #line) throws -> VarsStatusIndex.Stats {
        let machines = s.catalog.machineNames
        let r = try s.index.run(machines, catalog: s.catalog, adminRecipients: [alice])
        let plain = VarsStatusChecker(clanDirectory: s.dir, catalog: s.catalog, adminRecipients: [alice])
        XCTAssertEqual(r.statuses, try machines.map { try plain.status(machine: $0) }, file: file, line: line)
        return r.stats
    }

    private func fileStatus(_ s: Setup, _ machine: String, _ gen: String, _ f: String) throws -> VarFileStatus? {
        try s.index.statuses(for: [machine], catalog: s.catalog).first?
            .generators.first { $0.id.name == gen }?.files.first { $0.file.name == f }
    }

    /// Waits until the clock is past `path`'s ctime by more than a timestamp tick, so that a write now
    /// gets a new ctime even on file systems with coarse timestamps.
    private func waitForNewTick(_ path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        let ctime = Double(st.st_ctim.tv_sec) + Double(st.st_ctim.tv_nsec) / 1e9
        while Date().timeIntervalSince1970 < ctime + 0.05 { usleep(5000) }
    }

    private func setTimes(_ path: String, mtime: Double) {
        var ts = [timespec(tv_sec: Int(mtime), tv_nsec: Int((mtime - mtime.rounded(.down)) * 1e9)),
                  timespec(tv_sec: Int(mtime), tv_nsec: Int((mtime - mtime.rounded(.down)) * 1e9))]
        XCTAssertEqual(utimensat(AT_FDCWD, path, &ts, 0), 0)
    }

    /// `path`'s mtime to the nanosecond (a `Double` of seconds since 1970 cannot hold it: putting back a
    /// rounded mtime would change it, and the test would not be about an unchanged mtime).
    private func mtimeSpec(_ path: String) -> timespec {
        var st = stat()
        stat(path, &st)
        return st.st_mtim
    }

    private func setTimes(_ path: String, exactly t: timespec) {
        var ts = [t, t]
        XCTAssertEqual(utimensat(AT_FDCWD, path, &ts, 0), 0)
        let now = mtimeSpec(path)
        XCTAssertTrue(now.tv_sec == t.tv_sec && now.tv_nsec == t.tv_nsec, "\(path): mtime put back exactly")
    }

    private func mtime(_ path: String) -> Double {
        var st = stat()
        stat(path, &st)
        return Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
    }

    func testColdThenWarmAgreeWithPlainReadsAndWarmReadsNothing() throws {
        let s = try setup()
        let cold = try assertAgrees(s)
        XCTAssertFalse(cold.indexWasUsable)
        XCTAssertGreaterThan(cold.misses, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: s.index.file!))
        let warm = try assertAgrees(s)
        XCTAssertTrue(warm.indexWasUsable)
        XCTAssertEqual(warm.misses, 0, "nothing changed: every fact comes from the index")
        XCTAssertEqual(warm.hits, cold.misses)
    }

    func testSameSizeRewriteWithNewMtimeChangesTheStatus() throws {
        let s = try setup()
        let secret = s.dir + "/vars/per-machine/m1/ok-gen/key/secret"
        XCTAssertNil(try fileStatus(s, "m1", "ok-gen", "key")?.problem)
        // Same length, one character of the m1 recipient changed: an unknown key, m1 missing.
        var text = try String(contentsOfFile: secret, encoding: .utf8)
        let m1 = try SopsKeyIndex.readKeyFile(s.dir + "/sops/machines/m1/key.json").first!.publicKey
        XCTAssertTrue(text.contains(m1))
        let changed = String(m1.dropLast()) + (m1.last == "q" ? "p" : "q")
        text = text.replacingOccurrences(of: m1, with: changed)
        let before = mtime(secret)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: secret))
        try h.write(contentsOf: Array(text.utf8))
        try h.close()
        setTimes(secret, mtime: before + 7)
        guard case .unfixed(let added, let extra)? = try fileStatus(s, "m1", "ok-gen", "key")?.problem else {
            return XCTFail("expected unfixed after the in-place rewrite")
        }
        XCTAssertEqual(extra, [SopsKeyRef(changed)])
        XCTAssertEqual(added, [SopsKeyRef(m1)])
        try assertAgrees(s)
    }

    func testSameSizeSameMtimeRewriteIsCaughtByCtime() throws {
        let s = try setup()
        let hash = s.dir + "/vars/per-machine/m1/outdated-gen/.validation-hash"
        XCTAssertEqual(try assertAgrees(s).indexWasUsable, false)
        let old = try String(contentsOfFile: hash, encoding: .utf8)
        let before = mtimeSpec(hash)
        waitForNewTick(hash)
        // Same length, mtime put back: only ctime (which nothing can set) tells.
        let wanted = s.catalog.generators[GeneratorID(name: "outdated-gen", machine: "m1")]!.definition.validationHash!
        XCTAssertEqual(old.utf8.count, wanted.utf8.count)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: hash))
        try h.write(contentsOf: Array(wanted.utf8))
        try h.close()
        setTimes(hash, exactly: before)
        let st = try s.index.statuses(for: ["m1"], catalog: s.catalog)[0]
        XCTAssertFalse(st.invalidGenerators.contains("outdated-gen"), "the rewritten hash is read, not the indexed one")
        try assertAgrees(s)
    }

    func testReplacedByRenameDeletedAndNewLink() throws {
        let s = try setup()
        try assertAgrees(s)
        // A secret replaced by rename (how clan and sops write): new inode.
        let okSecret = s.dir + "/vars/per-machine/m1/ok-gen/key/secret"
        let otherSecret = s.dir + "/vars/per-machine/m2/bob-only/s/secret"  // bob + m2
        try FileManager.default.copyItem(atPath: otherSecret, toPath: okSecret + ".new")
        XCTAssertEqual(rename(okSecret + ".new", okSecret), 0)
        XCTAssertNotNil(try fileStatus(s, "m1", "ok-gen", "key")?.problem, "the replaced secret's recipients are read")
        try assertAgrees(s)
        // Deleted: missing.
        try FileManager.default.removeItem(atPath: s.dir + "/vars/per-machine/m1/ok-gen/key.pub/value")
        XCTAssertEqual(try fileStatus(s, "m1", "ok-gen", "key.pub")?.problem, .missingPublic)
        try FileManager.default.removeItem(atPath: okSecret)
        XCTAssertEqual(try fileStatus(s, "m1", "ok-gen", "key")?.problem, .missingSecret)
        try assertAgrees(s)
        // A link removed: drift-gen/s links m1, alice and bob but holds m1 and alice; without the bob
        // link the wanted keys are the file's.
        XCTAssertEqual(try fileStatus(s, "m1", "drift-gen", "s")?.problem, .unfixed(added: [bob], extra: []))
        try FileManager.default.removeItem(atPath: s.dir + "/vars/per-machine/m1/drift-gen/s/users/bob")
        XCTAssertNil(try fileStatus(s, "m1", "drift-gen", "s")?.problem)
        try assertAgrees(s)
    }

    func testChangedKeyFileIsRead() throws {
        let s = try setup()
        try assertAgrees(s)
        // bob's key.json now holds alice's key: owners and wanted recipients change.
        try Data("[{\"publickey\": \"\(alice.publicKey)\", \"type\": \"age\"}]\n".utf8).write(to: URL(fileURLWithPath: s.dir + "/sops/users/bob/key.json"))
        try assertAgrees(s)
    }

    func testCorruptIndexIsIgnoredAndRebuilt() throws {
        let s = try setup()
        try assertAgrees(s)
        let path = s.index.file!
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        var flipped = good
        flipped[good.count / 2] ^= 0x40
        let corruptions: [(String, Data)] = [
            ("bit flip", flipped),
            ("truncated", good.prefix(good.count * 2 / 3)),
            ("header only", good.prefix(32)),
            ("empty", Data()),
            ("garbage", Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) })),
            ("other version", { var d = good; d[8] = 99; return d }()),
        ]
        for (what, bytes) in corruptions {
            try bytes.write(to: URL(fileURLWithPath: path))
            // A change the corrupt index must not hide.
            try FileManager.default.removeItem(atPath: s.dir + "/vars/per-machine/m1/ok-gen/key.pub/value")
            let stats = try assertAgrees(s)
            XCTAssertFalse(stats.indexWasUsable, what)
            XCTAssertEqual(try fileStatus(s, "m1", "ok-gen", "key.pub")?.problem, .missingPublic, what)
            XCTAssertTrue(try assertAgrees(s).indexWasUsable, "\(what): rebuilt")
            try Data("ssh-ed25519 AAAA\n".utf8).write(to: URL(fileURLWithPath: s.dir + "/vars/per-machine/m1/ok-gen/key.pub/value"))
        }
    }

    func testIndexOfAnotherClanDirectoryIsNotUsed() throws {
        let s = try setup()
        try assertAgrees(s)
        let other = try setup()
        try FileManager.default.createDirectory(atPath: (other.index.file! as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: s.index.file!, toPath: other.index.file!)
        XCTAssertFalse(try assertAgrees(other).indexWasUsable)
    }

    func testFilesChangedWithinTheSettleTimeAreNotStored() throws {
        let s = try setup(settle: 3600)
        let stats = try assertAgrees(s)
        XCTAssertEqual(stats.storedEntries, 0, "every fixture file is younger than an hour")
        XCTAssertFalse(FileManager.default.fileExists(atPath: s.index.file!))
    }

    func testDemoClanAgreesColdAndWarm() throws {
        let dir = try VarsE2E.demoCopy(test: self)
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-vars-index-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: cache) }
        var index = VarsStatusIndex(clanDirectory: dir, cacheDirectory: cache)
        index.settleSeconds = 0
        index.threads = 2
        let catalog = try GeneratorsFile(path: dir + "/generators.json").load()
        let plain = VarsStatusChecker(clanDirectory: dir, catalog: catalog)
        let expected = try catalog.machineNames.map { try plain.status(machine: $0) }
        XCTAssertEqual(try index.statuses(for: catalog.machineNames, catalog: catalog), expected)
        let warm = try index.run(catalog.machineNames, catalog: catalog)
        XCTAssertEqual(warm.statuses, expected)
        XCTAssertEqual(warm.stats.misses, 0)
    }

    // MARK: the Vars screen's disk scan over the index

    private func assertSameScan(_ a: VarsDiskScan, _ b: VarsDiskScan, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.entries, b.entries, what, file: file, line: line)
        XCTAssertEqual(a.validationHashes, b.validationHashes, what, file: file, line: line)
        XCTAssertEqual(a.sopsSecrets, b.sopsSecrets, what, file: file, line: line)
        XCTAssertEqual(a.orphanMachines, b.orphanMachines, what, file: file, line: line)
        XCTAssertEqual(a.unknownKeys, b.unknownKeys, what, file: file, line: line)
        XCTAssertEqual(a.keys.users, b.keys.users, what, file: file, line: line)
        XCTAssertEqual(a.keys.machines, b.keys.machines, what, file: file, line: line)
    }

    /// The index-backed scan equals a plain one cold and warm (warm reads nothing), and sees a public
    /// value rewritten in place with its size and mtime put back (only ctime differs), a removed link
    /// and a deleted secret.
    func testDiskScanOverTheIndexAgreesWithAPlainScan() throws {
        let s = try setup()
        let inventory: Set<String> = ["m1"]  // m2 is an orphan
        func check(_ what: String) throws -> VarsStatusIndex.Stats {
            let r = s.index.scan(inventoryMachines: inventory)
            assertSameScan(r.scan, VarsDiskScan.scan(clanDirectory: s.dir, inventoryMachines: inventory), what)
            return r.stats
        }
        let cold = try check("cold")
        XCTAssertFalse(cold.indexWasUsable)
        XCTAssertGreaterThan(cold.misses, 0)
        let warm = try check("warm")
        XCTAssertEqual(warm.misses, 0, "nothing changed: every fact comes from the index")
        XCTAssertFalse(s.index.scan(inventoryMachines: inventory).scan.orphanMachines.isEmpty)

        let value = s.dir + "/vars/per-machine/m1/ok-gen/key.pub/value"
        let old = try Data(contentsOf: URL(fileURLWithPath: value))
        let before = mtimeSpec(value)
        waitForNewTick(value)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: value))
        try h.write(contentsOf: Data(repeating: UInt8(ascii: "x"), count: old.count))
        try h.close()
        setTimes(value, exactly: before)
        _ = try check("value rewritten in place")
        let entry = s.index.scan(inventoryMachines: inventory).scan.entries.first { $0.machine == "m1" && $0.generator == "ok-gen" && $0.file == "key.pub" }
        XCTAssertEqual(entry?.value, Array(repeating: UInt8(ascii: "x"), count: old.count))

        try FileManager.default.removeItem(atPath: s.dir + "/vars/per-machine/m1/drift-gen/s/users/bob")
        _ = try check("link removed")
        try FileManager.default.removeItem(atPath: s.dir + "/vars/per-machine/m1/ok-gen/key/secret")
        _ = try check("secret deleted")
        // The status run and the scan share one index file: each keeps the other's facts.
        try assertAgrees(s)
        XCTAssertEqual(try check("after a status run").misses, 0)
        XCTAssertEqual(try assertAgrees(s).misses, 0)
    }

    // MARK: files that appear, and replacements that keep size and mtime

    /// A link added to an existing folder, a `groups/` folder, a `.validation-hash` where there was
    /// none, and the files of a generator that had none: each is seen on the next warm run.
    func testNewLinksGroupsAndFilesAreSeen() throws {
        let s = try setup()
        try assertAgrees(s)
        XCTAssertEqual(try assertAgrees(s).misses, 0)
        let key = s.dir + "/vars/per-machine/m1/ok-gen/key"
        XCTAssertNil(try fileStatus(s, "m1", "ok-gen", "key")?.problem)

        XCTAssertEqual(symlink("../../../../../../sops/users/bob", key + "/users/bob"), 0)
        XCTAssertEqual(try fileStatus(s, "m1", "ok-gen", "key")?.problem, .unfixed(added: [bob], extra: []), "new link")
        try assertAgrees(s)
        try FileManager.default.removeItem(atPath: key + "/users/bob")
        XCTAssertNil(try fileStatus(s, "m1", "ok-gen", "key")?.problem)

        // A group holding bob, linked from the secret: bob is wanted again.
        try FileManager.default.createDirectory(atPath: s.dir + "/sops/groups/admins/users", withIntermediateDirectories: true)
        // (Member links as clan makes them: relative to the group's own folder.)
        XCTAssertEqual(symlink("../../../users/bob", s.dir + "/sops/groups/admins/users/bob"), 0)
        try FileManager.default.createDirectory(atPath: key + "/groups", withIntermediateDirectories: false)
        XCTAssertEqual(symlink("../../../../../../sops/groups/admins", key + "/groups/admins"), 0)
        XCTAssertEqual(try fileStatus(s, "m1", "ok-gen", "key")?.problem, .unfixed(added: [bob], extra: []), "new group")
        try assertAgrees(s)
        // A link added inside the group's folder (the secret's own folders unchanged).
        XCTAssertEqual(symlink("../../../users/alice", s.dir + "/sops/groups/admins/users/alice"), 0)
        try assertAgrees(s)

        // drift-gen declares no validation: a hash file appearing makes it invalid.
        let hash = s.dir + "/vars/per-machine/m1/drift-gen/.validation-hash"
        XCTAssertFalse(try s.index.statuses(for: ["m1"], catalog: s.catalog)[0].invalidGenerators.contains("drift-gen"))
        try Data("abc\n".utf8).write(to: URL(fileURLWithPath: hash))
        XCTAssertTrue(try s.index.statuses(for: ["m1"], catalog: s.catalog)[0].invalidGenerators.contains("drift-gen"), "new hash")
        try assertAgrees(s)

        // missing-gen had no directory at all.
        let gen = s.dir + "/vars/per-machine/m1/missing-gen"
        XCTAssertEqual(try fileStatus(s, "m1", "missing-gen", "secret-file")?.problem, .missingSecret)
        XCTAssertEqual(try fileStatus(s, "m1", "missing-gen", "pub-file")?.problem, .missingPublic)
        try FileManager.default.createDirectory(atPath: gen + "/secret-file/machines", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: gen + "/secret-file/users", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: gen + "/pub-file", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: key + "/secret", toPath: gen + "/secret-file/secret")
        XCTAssertEqual(symlink("../../../../../../sops/machines/m1", gen + "/secret-file/machines/m1"), 0)
        XCTAssertEqual(symlink("../../../../../../sops/users/alice", gen + "/secret-file/users/alice"), 0)
        try Data("p".utf8).write(to: URL(fileURLWithPath: gen + "/pub-file/value"))
        XCTAssertNil(try fileStatus(s, "m1", "missing-gen", "secret-file")?.problem, "new secret and links")
        XCTAssertNil(try fileStatus(s, "m1", "missing-gen", "pub-file")?.problem, "new value")
        try assertAgrees(s)
        XCTAssertEqual(try assertAgrees(s).misses, 0)
    }

    /// clan shares a secret with a group through a relative link `<secret>/groups/<g>` →
    /// `sops/groups/<g>` (`allow_member`, clan_cli/secrets/secrets.py:323; 6 levels up from a
    /// per-machine var, 3 from `sops/secrets/<s>/groups`), and a group's members are relative links
    /// `sops/groups/<g>/{users,machines}/<n>` → `../../../{users,machines}/<n>` (groups.py:135).
    /// `collect_keys_for_type` takes `p.resolve(strict=True)` (secrets.py:117), which follows the
    /// secret's `groups/<g>` link before the member link's `..`: the member is `sops/users/<n>`, not
    /// `<secret>/users/<n>`. Cold, warm and the plain reader agree; a member link that really
    /// dangles is reported broken under the path it was reached by.
    func testGroupMembersReachedThroughTheSecretsGroupLinkResolveLikeClan() throws {
        let s = try setup()
        let key = s.dir + "/vars/per-machine/m1/ok-gen/key"
        let group = s.dir + "/sops/groups/admins"
        let m2 = try XCTUnwrap(SopsKeyIndex.readKeyFile(s.dir + "/sops/machines/m2/key.json").first)
        XCTAssertNil(try fileStatus(s, "m1", "ok-gen", "key")?.problem)
        try FileManager.default.createDirectory(atPath: group + "/users", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: group + "/machines", withIntermediateDirectories: true)
        XCTAssertEqual(symlink("../../../users/bob", group + "/users/bob"), 0)
        XCTAssertEqual(symlink("../../../machines/m2", group + "/machines/m2"), 0)
        try FileManager.default.createDirectory(atPath: key + "/groups", withIntermediateDirectories: false)
        XCTAssertEqual(symlink("../../../../../../sops/groups/admins", key + "/groups/admins"), 0)

        let links = SecretLinks.read(secretDir: key)
        XCTAssertEqual(links.groups, ["admins"])
        XCTAssertEqual(links.broken, [], "members resolved through groups/admins")
        XCTAssertTrue(links.keys.isSuperset(of: [bob, m2]), "\(links.keys)")
        // The file is not encrypted to the group yet: clan's check wants bob and m2 added.
        XCTAssertEqual(try fileStatus(s, "m1", "ok-gen", "key")?.problem, .unfixed(added: [m2, bob].sorted(), extra: []))
        try assertAgrees(s)
        XCTAssertEqual(try fileStatus(s, "m1", "ok-gen", "key")?.problem, .unfixed(added: [m2, bob].sorted(), extra: []), "warm")
        XCTAssertEqual(try assertAgrees(s).misses, 0)

        // A member that really dangles: broken, named by the path through the secret; ignored for keys.
        XCTAssertEqual(symlink("../../../users/ghost", group + "/users/ghost"), 0)
        XCTAssertEqual(SecretLinks.read(secretDir: key).broken, [key + "/groups/admins/users/ghost"])
        XCTAssertEqual(try fileStatus(s, "m1", "ok-gen", "key")?.problem, .unfixed(added: [m2, bob].sorted(), extra: []))
        try assertAgrees(s)

        // The group link may itself lead through another link (`Path.resolve` follows every one).
        XCTAssertEqual(symlink("admins", s.dir + "/sops/groups/admins-alias"), 0)
        try FileManager.default.removeItem(atPath: key + "/groups/admins")
        XCTAssertEqual(symlink("../../../../../../sops/groups/admins-alias", key + "/groups/admins"), 0)
        XCTAssertEqual(SecretLinks.read(secretDir: key).broken, [key + "/groups/admins/users/ghost"])
        XCTAssertEqual(try fileStatus(s, "m1", "ok-gen", "key")?.problem, .unfixed(added: [m2, bob].sorted(), extra: []))
        try assertAgrees(s)

        // A legacy `clan secrets` secret shared with the group (3 levels up from its groups/).
        let legacy = s.dir + "/sops/secrets/db-password"
        try FileManager.default.createDirectory(atPath: legacy + "/groups", withIntermediateDirectories: true)
        XCTAssertEqual(symlink("../../../groups/admins", legacy + "/groups/admins"), 0)
        let l = SecretLinks.read(secretDir: legacy)
        XCTAssertEqual(l.broken, [legacy + "/groups/admins/users/ghost"])
        XCTAssertEqual(l.keys, [bob, m2])
    }

    /// A secret replaced by rename with a file of the same size, its mtime put back to the old one:
    /// only the inode (and ctime) differ.
    func testSameSizeSameMtimeReplacementIsCaughtByInode() throws {
        let s = try setup()
        let secret = s.dir + "/vars/per-machine/m1/ok-gen/key/secret"
        try assertAgrees(s)
        let m1 = try SopsKeyIndex.readKeyFile(s.dir + "/sops/machines/m1/key.json").first!.publicKey
        let changed = String(m1.dropLast()) + (m1.last == "q" ? "p" : "q")
        let text = try String(contentsOfFile: secret, encoding: .utf8).replacingOccurrences(of: m1, with: changed)
        let before = mtimeSpec(secret)
        var old = stat(), new = stat()
        stat(secret, &old)
        try Data(text.utf8).write(to: URL(fileURLWithPath: secret + ".new"))
        setTimes(secret + ".new", exactly: before)
        XCTAssertEqual(rename(secret + ".new", secret), 0)
        stat(secret, &new)
        XCTAssertEqual(new.st_size, old.st_size)
        XCTAssertNotEqual(new.st_ino, old.st_ino)
        XCTAssertEqual(try fileStatus(s, "m1", "ok-gen", "key")?.problem, .unfixed(added: [SopsKeyRef(m1)], extra: [SopsKeyRef(changed)]))
        try assertAgrees(s)
    }

    /// Nothing changed: the warm run neither reads a file nor rewrites the index.
    func testWarmRunWithNothingChangedLeavesTheIndexFileAlone() throws {
        let s = try setup()
        try assertAgrees(s)
        var before = stat(), after = stat()
        XCTAssertEqual(stat(s.index.file!, &before), 0)
        let warm = try assertAgrees(s)
        XCTAssertEqual(warm.misses, 0)
        XCTAssertEqual(warm.loadedEntries, warm.storedEntries)
        XCTAssertEqual(stat(s.index.file!, &after), 0)
        XCTAssertEqual(after.st_ino, before.st_ino)
        XCTAssertEqual(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec)
    }

    /// A run that read changed files rewrites the index with their new facts in place of the stored
    /// ones and without the files that are gone: the next run reads nothing, and the rewritten file is
    /// byte for byte the index a cold run writes for the changed tree.
    func testRewrittenIndexIsTheColdIndexOfTheChangedTree() throws {
        let s = try setup()
        try assertAgrees(s)
        let ok = s.dir + "/vars/per-machine/m1/ok-gen"
        try FileManager.default.copyItem(atPath: s.dir + "/vars/per-machine/m2/bob-only/s/secret", toPath: ok + "/key/secret.new")
        XCTAssertEqual(rename(ok + "/key/secret.new", ok + "/key/secret"), 0)  // replaced: new fact
        try FileManager.default.removeItem(atPath: s.dir + "/vars/per-machine/m1/outdated-gen/.validation-hash")  // gone
        try FileManager.default.removeItem(atPath: s.dir + "/vars/per-machine/m1/drift-gen/s/users/bob")  // folder changed
        let changed = try assertAgrees(s)
        XCTAssertGreaterThan(changed.misses, 0)
        let next = try assertAgrees(s)
        XCTAssertEqual(next.misses, 0, "the rewritten index holds the new facts")
        let coldCache = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-vars-index-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: coldCache) }
        var cold = VarsStatusIndex(clanDirectory: s.dir, cacheDirectory: coldCache)
        cold.settleSeconds = 0
        let c = try cold.run(s.catalog.machineNames, catalog: s.catalog, adminRecipients: [alice])
        XCTAssertFalse(c.stats.indexWasUsable)
        XCTAssertEqual(next.storedEntries, c.stats.storedEntries)
        XCTAssertEqual(FileManager.default.contents(atPath: s.index.file!), FileManager.default.contents(atPath: cold.file!))
    }

    /// Link folders answered from the index are resolved once per content and folder kind: a
    /// `machines/` folder holding exactly what another secret's `users/` folder holds (a link to a
    /// user: wrong kind there, clan ignores it) must not lend or borrow that resolution.
    func testEqualLinkFoldersOfDifferentKindsAreResolvedPerKind() throws {
        let s = try setup()
        let drift = s.dir + "/vars/per-machine/m1/drift-gen/s"
        try FileManager.default.removeItem(atPath: drift + "/machines/m1")
        try FileManager.default.removeItem(atPath: drift + "/users/alice")
        XCTAssertEqual(symlink("../../../../../../sops/users/alice", drift + "/machines/alice"), 0)
        let m1 = SopsKeyRef(try SopsKeyIndex.readKeyFile(s.dir + "/sops/machines/m1/key.json").first!.publicKey)
        try assertAgrees(s)
        XCTAssertEqual(try assertAgrees(s).misses, 0)
        // drift-gen (checked first: generators in name order) wants bob only; ok-gen wants m1 and alice.
        XCTAssertEqual(try fileStatus(s, "m1", "drift-gen", "s")?.problem, .unfixed(added: [bob], extra: [alice, m1].sorted()))
        XCTAssertNil(try fileStatus(s, "m1", "ok-gen", "key")?.problem)
    }

    // MARK: many machines: threads, and what a run memoises

    /// A clan of `count` machines (`m000`…) written for these tests: keys are plain strings (status
    /// never decrypts). Per machine: `a` (secret to the machine and admin, linked so: fine), `b` and `c`
    /// (one secret file to the admin only, byte for byte the same in both and on every machine, so one
    /// index payload; `b` links the admin — fine —, `c` the admin and bob — bob missing), `d` (public;
    /// its value missing on every 7th machine; a validation hash that differs on every 5th). Every 4th
    /// machine has default group `ops` (bob), every 6th `dev` (carol): then `b` misses bob or carol too.
    private func manyMachines(_ count: Int) throws -> (dir: String, catalog: GeneratorCatalog, machines: [String]) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-vars-many-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        // Plain syscalls (Foundation's are slower); 100 machines: ext4 inode allocation on a busy disk
        // makes each new inode costly.
        var made = Set<String>()
        func mkdirs(_ path: String) {
            guard !made.contains(path), !path.isEmpty else { return }
            if mkdir(path, 0o755) != 0 && errno == ENOENT {
                mkdirs((path as NSString).deletingLastPathComponent)
                mkdir(path, 0o755)
            }
            made.insert(path)
        }
        func write(_ rel: String, _ text: String) throws {
            mkdirs(((dir + "/" + rel) as NSString).deletingLastPathComponent)
            let fd = open(dir + "/" + rel, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            XCTAssertGreaterThanOrEqual(fd, 0, rel)
            let bytes = Array(text.utf8)
            XCTAssertEqual(bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }, bytes.count)
            close(fd)
        }
        func link(_ target: String, _ rel: String) throws {
            mkdirs(((dir + "/" + rel) as NSString).deletingLastPathComponent)
            XCTAssertEqual(symlink(target, dir + "/" + rel), 0)
        }
        func keyJSON(_ k: String) -> String { "[{\"publickey\": \"\(k)\", \"type\": \"age\"}]" }
        func secret(_ keys: [String]) -> String {
            "{\"data\": \"ENC[x]\", \"sops\": {\"age\": [" + keys.map { "{\"recipient\": \"\($0)\", \"enc\": \"x\"}" }.joined(separator: ", ") + "]}}"
        }
        for u in ["admin", "bob", "carol"] { try write("sops/users/\(u)/key.json", keyJSON("age1user\(u)")) }
        try link("../../../users/bob", "sops/groups/ops/users/bob")
        try link("../../../users/carol", "sops/groups/dev/users/carol")
        let up = "../../../../../../sops/"
        var machinesJSON: [String] = []
        let machines = (0..<count).map { String(format: "m%03d", $0) }
        for (i, m) in machines.enumerated() {
            try write("sops/machines/\(m)/key.json", keyJSON("age1machine\(m)"))
            let g = "vars/per-machine/\(m)"
            try write(g + "/a/s/secret", secret(["age1machine\(m)", "age1useradmin"]))
            try link(up + "machines/" + m, g + "/a/s/machines/" + m)
            try link(up + "users/admin", g + "/a/s/users/admin")
            for x in ["b", "c"] {
                try write(g + "/\(x)/s/secret", secret(["age1useradmin"]))
                try link(up + "users/admin", g + "/\(x)/s/users/admin")
            }
            try link(up + "users/bob", g + "/c/s/users/bob")
            if i % 7 != 0 { try write(g + "/d/v/value", "v\(i)") } else { mkdirs(dir + "/" + g + "/d/v") }
            try write(g + "/d/.validation-hash", i % 5 == 0 ? "old\n" : "h1\n")
            let groups = (i % 4 == 0 ? ["\"ops\""] : []) + (i % 6 == 0 ? ["\"dev\""] : [])
            machinesJSON.append("\"\(m)\": {\"defaultGroups\": [\(groups.joined(separator: ", "))], \"generators\": {\"a\": {\"template\": \"sec\"}, \"b\": {\"template\": \"sec\"}, \"c\": {\"template\": \"sec\"}, \"d\": {\"template\": \"pub\"}}}")
        }
        try write("generators.json", """
            {"version": 1, "templates": {"sec": {"files": {"s": {}}}, "pub": {"files": {"v": {"secret": false}}, "validationHash": "h1"}},
             "machines": {\(machinesJSON.joined(separator: ",\n"))}}
            """)
        return (dir, try GeneratorsFile(path: dir + "/generators.json").load(), machines)
    }

    /// Machines split over threads come back in the order asked for (not sorted, not in the order the
    /// chunks finish), cold and warm, equal to one plain checker walking them one by one; and the
    /// memoised answers (owners per recipients payload, drift per payload and link set, default groups'
    /// keys) are those of the plain walk: `b` and `c` share a recipients payload but not their links,
    /// machines with other default groups share payloads and links but not the wanted keys.
    func testManyMachinesOverThreadsInTheOrderAskedAndMemoisedPerContent() throws {
        let t = try manyMachines(100)
        var order = t.machines
        var rng = SystemRandomNumberGenerator()
        order.shuffle(using: &rng)
        order = Array(order.suffix(50)) + order.prefix(50).reversed()
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-vars-index-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: cache) }
        var index = VarsStatusIndex(clanDirectory: t.dir, cacheDirectory: cache)
        index.settleSeconds = 0
        index.threads = 4
        let admin: Set<SopsKeyRef> = [SopsKeyRef("age1useradmin")]
        let plain = VarsStatusChecker(clanDirectory: t.dir, catalog: t.catalog, adminRecipients: admin)
        let expected = try order.map { try plain.status(machine: $0) }
        let cold = try index.run(order, catalog: t.catalog, adminRecipients: admin)
        XCTAssertEqual(cold.statuses.map(\.machine), order)
        XCTAssertEqual(cold.statuses, expected)
        let warm = try index.run(order, catalog: t.catalog, adminRecipients: admin)
        XCTAssertEqual(warm.stats.misses, 0)
        XCTAssertEqual(warm.statuses, expected)
        // The expectations themselves, on a few machines.
        let bob = SopsKeyRef("age1userbob"), carol = SopsKeyRef("age1usercarol")
        func problems(_ m: String) -> [String: VarProblem?] {
            let st = warm.statuses.first { $0.machine == m }!
            return Dictionary(uniqueKeysWithValues: st.generators.map { ($0.id.name, $0.files[0].problem) })
        }
        XCTAssertEqual(problems("m001"), ["a": nil, "b": nil, "c": .unfixed(added: [bob], extra: []), "d": nil])
        XCTAssertEqual(problems("m004"), ["a": .unfixed(added: [bob], extra: []), "b": .unfixed(added: [bob], extra: []),
                                          "c": .unfixed(added: [bob], extra: []), "d": nil])
        XCTAssertEqual(problems("m006"), ["a": .unfixed(added: [carol], extra: []), "b": .unfixed(added: [carol], extra: []),
                                          "c": .unfixed(added: [bob, carol].sorted(), extra: []), "d": nil])
        XCTAssertEqual(problems("m007")["d"], .missingPublic)
        XCTAssertEqual(warm.statuses.first { $0.machine == "m005" }!.invalidGenerators, ["d"])
        XCTAssertEqual(warm.statuses.first { $0.machine == "m001" }!.generators[1].files[0].adminCanDecrypt, true)
    }
}
