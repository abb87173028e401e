import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Vars status with an index of what it derived from each file, kept in the cache directory
/// (`$XDG_CACHE_HOME/fleet/vars-index-<hash>.bin`, one per clan directory).
///
/// Per file (a secret, a `.validation-hash`, a key.json, a link or key directory) the index holds
/// its stamp — (device, inode, mode, size, mtime, ctime) — and the fact status needs from it
/// (recipients, the hash text, the keys, the links with their targets, the entry names). A status
/// `fstatat`s every file it looks at, as a cold one does, but reads and parses only files whose
/// stamp changed. Directories are covered by their own stamps: adding, removing or renaming an
/// entry changes the directory's mtime, and a symlink cannot be rewritten in place.
///
/// Never a wrong status: a fact is only reused for an identical stamp; facts from files changed
/// within `settleSeconds` of the run are not stored (two writes of the same size in one timestamp
/// tick look alike — git's "racy clean"); an index that is truncated, corrupt (checksum), of
/// another version or another clan directory is ignored and rebuilt. It is written atomically
/// (temp file + rename), so readers see the old or the new one.
public struct VarsStatusIndex: Sendable {
    public let clanDirectory: String
    /// nil: no index is read or written (every status reads the files).
    public let file: String?
    public var settleSeconds: Double = 2
    /// Threads for the status (the cold path reads and parses ~100k secrets at 10k machines).
    public var threads = max(1, min(4, ProcessInfo.processInfo.activeProcessorCount))

    /// Counters of the last `statuses` call (for the bench and tests).
    public struct Stats: Equatable, Sendable {
        public var hits = 0
        public var misses = 0
        public var loadedEntries = 0
        public var storedEntries = 0
        /// stat-family calls (`fstatat`, `lstat`) of the run: what a warm run cannot avoid.
        public var stamps = 0
        public var indexWasUsable = false
        public init() {}
    }

    public init(clanDirectory: String, cacheDirectory: String? = XDGDirectories.fleet(.cache)) {
        self.clanDirectory = clanDirectory
        file = cacheDirectory.map { dir in
            let h = SHA256.hash(data: Array(clanDirectory.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
            return dir + "/vars-index-\(h).bin"
        }
    }

    /// clan's vars status for `machines` (in that order), optionally only `generator`.
    public func statuses(for machines: [String], catalog: GeneratorCatalog, generator: String? = nil,
                         adminRecipients: Set<SopsKeyRef>? = nil) throws -> [MachineVarsStatus] {
        try run(machines, catalog: catalog, generator: generator, adminRecipients: adminRecipients).statuses
    }

    /// `statuses` with the key index and counters.
    public func run(_ machines: [String], catalog: GeneratorCatalog, generator: String? = nil,
                    adminRecipients: Set<SopsKeyRef>? = nil) throws -> (statuses: [MachineVarsStatus], keys: SopsKeyIndex, stats: Stats) {
        let r = try run(machines, catalog: catalog, generator: generator, adminRecipients: adminRecipients, record: false)
        return (r.statuses, r.keys, r.stats)
    }

    /// `run`, and with `record` each reader's stamps (`VarsFactReader.stampLog`), per phase (the key
    /// folders' listing, the key files, the machines), in reader order.
    private func run(_ machines: [String], catalog: GeneratorCatalog, generator: String?, adminRecipients: Set<SopsKeyRef>?,
                     record: Bool) throws -> (statuses: [MachineVarsStatus], keys: SopsKeyIndex, stats: Stats, logs: [[[UInt8]]]) {
        var stats = Stats()
        let (table, settled) = load(&stats)
        var r = try statusReaders(machines, catalog: catalog, generator: generator, adminRecipients: adminRecipients, record: record,
                                  collectValues: false, table: table, settled: settled)
        store(table, &r.summaries, &stats)
        return (r.statuses, r.keys, stats, r.logs)
    }

    /// The Vars screen's overview (`VarsOverview.load`): the statuses of `machines` with public values,
    /// then the disk scan of what they did not cover, over one load of the index and one store —
    /// a cold first run writes the index once, not the status's 600k facts and then all of them again
    /// with the scan's (10k × 10: a second ~75 MB encode that was the UI's memory peak).
    public func overview(_ machines: [String], catalog: GeneratorCatalog, adminRecipients: Set<SopsKeyRef>?,
                         inventoryMachines: Set<String>?) throws -> (statuses: [MachineVarsStatus], keys: SopsKeyIndex, scan: VarsDiskScan, stats: Stats) {
        var stats = Stats()
        let (table, settled) = load(&stats)
        var r = try statusReaders(machines, catalog: catalog, generator: nil, adminRecipients: adminRecipients, record: false,
                                  collectValues: true, table: table, settled: settled)
        var s = scanReaders(inventoryMachines: inventoryMachines, covered: VarsDiskScan.Covered(catalog: catalog),
                            keys: (r.keys, r.keyMemo), table: table, settled: settled)
        var summaries = r.summaries
        r.summaries = []
        summaries += s.summaries
        s.summaries = []
        store(table, &summaries, &stats)
        return (r.statuses, r.keys, s.scan, stats)
    }

    private func statusReaders(_ machines: [String], catalog: GeneratorCatalog, generator: String?, adminRecipients: Set<SopsKeyRef>?,
                               record: Bool, collectValues: Bool, table: VarsIndexView?, settled: Int64) throws
        -> (statuses: [MachineVarsStatus], keys: SopsKeyIndex, keyMemo: [String: Result<Set<SopsKeyRef>, VarsError>?],
            summaries: [VarsFactReader.Summary], logs: [[[UInt8]]]) {
        // The key index (`SopsKeyIndex`): both key folders listed, then every key.json in contiguous
        // parts over the threads (10k machines: 10k key files, read before any machine's status).
        let first = VarsFactReader(root: clanDirectory, stored: table, settledBeforeNs: settled)
        if record { first.stampLog = VarsStampLog() }
        let keyFiles = SopsKeyIndex.keyFiles(first)
        let firstSummary = first.summary
        let parts = keyFiles.count >= 64 ? threads : 1
        let perPart = (keyFiles.count + parts - 1) / parts
        let keyParts = ParallelRead.chunks(parts) { p -> (read: [Result<Set<SopsKeyRef>, VarsError>?], memo: [String: Result<Set<SopsKeyRef>, VarsError>?], summary: VarsFactReader.Summary) in
            let reader = VarsFactReader(root: clanDirectory, stored: table, settledBeforeNs: settled)
            if record { reader.stampLog = VarsStampLog() }
            let read = keyFiles[min(keyFiles.count, p * perPart)..<min(keyFiles.count, (p + 1) * perPart)].map { $0.read(reader) }
            return (read, reader.keyMemo, reader.summary)
        }
        let keys = SopsKeyIndex(Array(zip(keyFiles, keyParts.flatMap(\.read))))
        let keyMemo = keyParts.count == 1 ? keyParts[0].memo : keyParts.reduce(into: [:]) { memo, part in
            memo.reserveCapacity(keyFiles.count)
            memo.merge(part.memo) { a, _ in a }
        }
        // Machines in contiguous chunks, one reader per chunk (no shared mutable state); results are
        // put back in order.
        let chunks = machineChunks(machines.count)
        let done = ParallelRead.chunks(chunks.count) { c -> Result<([MachineVarsStatus], VarsFactReader.Summary), any Error> in
            let (lo, hi) = chunks.bounds(c)
            let reader = VarsFactReader(root: clanDirectory, stored: table, settledBeforeNs: settled, keyMemo: keyMemo)
            if record { reader.stampLog = VarsStampLog() }
            var checker = VarsStatusChecker(reader: reader, catalog: catalog, keys: keys, adminRecipients: adminRecipients)
            checker.collectValues = collectValues
            return Result { () throws -> ([MachineVarsStatus], VarsFactReader.Summary) in
                var out: [MachineVarsStatus] = []
                out.reserveCapacity(hi - lo)
                for m in machines[lo..<max(lo, hi)] { out.append(try checker.status(machine: m, generatorName: generator)) }
                return (out, reader.summary)
            }
        }

        var all: [MachineVarsStatus] = []
        all.reserveCapacity(machines.count)
        var summaries = [firstSummary] + keyParts.map(\.summary)
        for r in done {
            let (statuses, summary) = try r.get()
            all += statuses
            summaries.append(summary)
        }
        let logs = [[firstSummary], keyParts.map(\.summary), Array(summaries.suffix(done.count))].map { $0.compactMap(\.log) }
        return (all, keys, keyMemo, summaries, record ? logs : [])
    }

    /// A warm run with every stamp recorded (`VarsStampLog`): the stat floor's calls (`replay`).
    public func recordStamps(_ machines: [String], catalog: GeneratorCatalog) throws -> (stats: Stats, recording: VarsStampRecording) {
        let r = try run(machines, catalog: catalog, generator: nil, adminRecipients: nil, record: true)
        return (r.stats, VarsStampRecording(logs: r.logs))
    }

    /// The stat floor of a warm status: the recorded calls again and nothing else, spread as `run`
    /// spreads its readers — phase after phase (the key folders, the key files, the machines), each
    /// phase's readers over the same threads (`ParallelRead.chunks`; one reader: on this thread).
    /// Returns the stat-family calls made.
    public func replay(_ recording: VarsStampRecording) -> Int {
        let root = clanDirectory
        var calls = 0
        for phase in recording.logs {
            calls += ParallelRead.chunks(phase.count) { VarsStampLog.replay(phase[$0], clanDirectory: root) }.reduce(0, +)
        }
        return calls
    }

    /// `VarsDiskScan` (the Vars screen's view of everything on disk) over the index: files whose stamp
    /// is unchanged are not read again.
    /// `vars/per-machine`'s machines are scanned in contiguous chunks over `threads`, one reader per
    /// chunk (as `run` does), and put back in order: the same scan as one reader's walk.
    ///
    /// `covered` (the Vars screen with generator definitions): the files a status already reported
    /// (`VarsDiskScan.Covered`) are not scanned again.
    public func scan(inventoryMachines: Set<String>?, covered: VarsDiskScan.Covered? = nil) -> (scan: VarsDiskScan, stats: Stats) {
        var stats = Stats()
        let (table, settled) = load(&stats)
        var s = scanReaders(inventoryMachines: inventoryMachines, covered: covered, keys: nil, table: table, settled: settled)
        store(table, &s.summaries, &stats)
        return (s.scan, stats)
    }

    /// `keys`: the key index (and its key files' memo) a status of the same run built, else read again.
    private func scanReaders(inventoryMachines: Set<String>?, covered: VarsDiskScan.Covered?,
                             keys: (index: SopsKeyIndex, memo: [String: Result<Set<SopsKeyRef>, VarsError>?])?,
                             table: VarsIndexView?, settled: Int64) -> (scan: VarsDiskScan, summaries: [VarsFactReader.Summary]) {
        let reader = VarsFactReader(root: clanDirectory, stored: table, settledBeforeNs: settled, keyMemo: keys?.memo ?? [:])
        let scanner = VarsDiskScan.Scanner(reader: reader, inventoryMachines: inventoryMachines, covered: covered, keys: keys?.index)
        let machines = scanner.machines
        let chunks = machineChunks(machines.count)
        let root = clanDirectory, keyMemo = reader.keyMemo
        var summaries: [VarsFactReader.Summary] = []
        var parts = ParallelRead.chunks(chunks.count) { c -> (part: VarsDiskScan.Part, summary: VarsFactReader.Summary) in
            let r = VarsFactReader(root: root, stored: table, settledBeforeNs: settled, keyMemo: keyMemo)
            let (lo, hi) = chunks.bounds(c)
            let part = scanner.scanMachines(machines[lo..<hi], reader: r)
            return (part, r.summary)
        }.map { p in
            summaries.append(p.summary)
            return p.part
        }
        let scan = scanner.finish(reader: reader, machineParts: &parts)
        return (scan, [reader.summary] + summaries)
    }

    /// How `total` machines are cut into contiguous chunks, one reader each, for the status and the
    /// scan alike: four chunks per thread, so a thread that is descheduled (a loaded machine) leaves
    /// a quarter of its share to the others; one chunk below 64 machines.
    private func machineChunks(_ total: Int) -> (count: Int, bounds: @Sendable (Int) -> (Int, Int)) {
        let count = total >= 64 ? max(1, min(threads * 4, total / 32)) : 1
        let per = (total + count - 1) / count
        return (count, { c in (min(total, c * per), min(total, (c + 1) * per)) })
    }

    /// The stored facts (nil when there is no usable index), mapped, and the settle bound of this run.
    private func load(_ stats: inout Stats) -> (table: VarsIndexView?, settledBeforeNs: Int64) {
        let stored = file.flatMap { VarsIndexFile.open($0, clanDirectory: clanDirectory) }
        stats.indexWasUsable = stored != nil
        stats.loadedEntries = stored?.count ?? 0
        return (stored, Int64((Date().timeIntervalSince1970 - settleSeconds) * 1e9))
    }

    /// Writes the index when the readers found new, changed or vanished facts.
    /// The summaries' fresh facts are moved out (emptied) as they are gathered: at 10k × 10 a cold
    /// run's ~700k facts are not held twice while the index is encoded.
    private func store(_ table: VarsIndexView?, _ summaries: inout [VarsFactReader.Summary], _ stats: inout Stats) {
        var freshCount = 0
        var stale = Set<String>()
        for s in summaries {
            stats.hits += s.hits
            stats.misses += s.misses
            stats.stamps += s.stamps
            freshCount += s.fresh.count
            stale.formUnion(s.stale)
        }
        if let file, freshCount > 0 || !stale.isEmpty {
            // The fresh facts first, in the readers' order: of equal paths the index keeps the first
            // (another reader's read of the same file, or the stored fact it replaces). Only now are
            // the stored entries decoded: a run that changed nothing never does.
            var entries: [(path: String, fact: StampedFact)] = []
            if summaries.count == 1, table == nil {
                swap(&entries, &summaries[0].fresh)   // taken, not copied
            } else {
                entries.reserveCapacity(freshCount + (table?.count ?? 0))
                for i in summaries.indices {
                    entries += summaries[i].fresh
                    summaries[i].fresh = []
                }
            }
            table?.forEachEntry { path, fact in
                if stale.isEmpty || !stale.contains(path) { entries.append((path, fact)) }
            }
            stats.storedEntries = VarsIndexFile.write(entries, to: file, clanDirectory: clanDirectory)
        } else {
            stats.storedEntries = table?.count ?? 0
        }
    }
}

extension VarsFactReader {
    /// What a reader found, handed across threads after its run.
    struct Summary: Sendable {
        var fresh: [(path: String, fact: StampedFact)]
        var stale: Set<String>
        var hits: Int
        var misses: Int
        var stamps: Int
        /// The recorded calls (`stampLog`'s bytes), when recorded.
        var log: [UInt8]?
    }

    var summary: Summary { Summary(fresh: fresh, stale: stale, hits: hits, misses: misses, stamps: stamps, log: stampLog?.bytes) }
}

/// The stamps of one warm status (`VarsStatusIndex.recordStamps`): the calls of each reader, per
/// phase of the run — the key folders' listing, the key files (in parts), the machines (in chunks).
public struct VarsStampRecording: Sendable {
    /// Per phase, per reader, `VarsStampLog`'s bytes.
    let logs: [[[UInt8]]]
    /// The stat-family calls recorded (equal to the recorded run's `Stats.stamps`).
    public let stamps: Int
    /// The opens of a machine's directory recorded.
    public let machineOpens: Int
    /// The readers (the key folders', one per part of the key files, one per chunk of machines).
    public var readers: Int { logs.reduce(0) { $0 + $1.count } }

    init(logs: [[[UInt8]]]) {
        self.logs = logs
        let counts = logs.joined().map(VarsStampLog.count)
        stamps = counts.reduce(0) { $0 + $1.stamps }
        machineOpens = counts.reduce(0) { $0 + $1.machineOpens }
    }
}
