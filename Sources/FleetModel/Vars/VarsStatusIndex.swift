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
        var stats = Stats()
        let (table, settled) = load(&stats)
        let first = VarsFactReader(root: clanDirectory, stored: table, settledBeforeNs: settled)
        let keys = SopsKeyIndex(reader: first)
        let firstSummary = first.summary
        let keyMemo = first.keyMemo
        // Machines in contiguous chunks, one reader per chunk (no shared mutable state); results are
        // put back in order. Four chunks per thread: a thread that is descheduled (a loaded machine)
        // leaves a quarter of its share to the others, not all of it.
        let chunks = machines.count >= 64 ? max(1, min(threads * 4, machines.count / 32)) : 1
        let per = (machines.count + chunks - 1) / max(chunks, 1)
        let done = ParallelRead.chunks(chunks) { c -> Result<([MachineVarsStatus], VarsFactReader.Summary), any Error> in
            let lo = c * per, hi = min(machines.count, lo + per)
            let reader = VarsFactReader(root: clanDirectory, stored: table, settledBeforeNs: settled, keyMemo: keyMemo)
            let checker = VarsStatusChecker(reader: reader, catalog: catalog, keys: keys, adminRecipients: adminRecipients)
            return Result { () throws -> ([MachineVarsStatus], VarsFactReader.Summary) in
                var out: [MachineVarsStatus] = []
                out.reserveCapacity(hi - lo)
                for m in machines[lo..<max(lo, hi)] { out.append(try checker.status(machine: m, generatorName: generator)) }
                return (out, reader.summary)
            }
        }

        var all: [MachineVarsStatus] = []
        all.reserveCapacity(machines.count)
        var summaries = [firstSummary]
        for r in done {
            let (statuses, summary) = try r.get()
            all += statuses
            summaries.append(summary)
        }
        store(table, summaries, &stats)
        return (all, keys, stats)
    }

    /// `VarsDiskScan` (the Vars screen's view of everything on disk) over the index: files whose stamp
    /// is unchanged are not read again.
    public func scan(inventoryMachines: Set<String>?) -> (scan: VarsDiskScan, stats: Stats) {
        var stats = Stats()
        let (table, settled) = load(&stats)
        let reader = VarsFactReader(root: clanDirectory, stored: table, settledBeforeNs: settled)
        let scan = VarsDiskScan.scan(reader: reader, inventoryMachines: inventoryMachines)
        store(table, [reader.summary], &stats)
        return (scan, stats)
    }

    /// The stored facts (nil when there is no usable index), mapped, and the settle bound of this run.
    private func load(_ stats: inout Stats) -> (table: VarsIndexView?, settledBeforeNs: Int64) {
        let stored = file.flatMap { VarsIndexFile.open($0, clanDirectory: clanDirectory) }
        stats.indexWasUsable = stored != nil
        stats.loadedEntries = stored?.count ?? 0
        return (stored, Int64((Date().timeIntervalSince1970 - settleSeconds) * 1e9))
    }

    /// Writes the index when the readers found new, changed or vanished facts.
    private func store(_ table: VarsIndexView?, _ summaries: [VarsFactReader.Summary], _ stats: inout Stats) {
        var freshCount = 0
        var stale = Set<String>()
        for s in summaries {
            stats.hits += s.hits
            stats.misses += s.misses
            freshCount += s.fresh.count
            stale.formUnion(s.stale)
        }
        if let file, freshCount > 0 || !stale.isEmpty {
            // The fresh facts first, in the readers' order: of equal paths the index keeps the first
            // (another reader's read of the same file, or the stored fact it replaces). Only now are
            // the stored entries decoded: a run that changed nothing never does.
            var entries: [(path: String, fact: StampedFact)] = []
            if summaries.count == 1, table == nil {
                entries = summaries[0].fresh   // shared, not copied (the cold scan: 16k facts, 1.4 MB at 10k)
            } else {
                entries.reserveCapacity(freshCount + (table?.count ?? 0))
                for s in summaries { entries += s.fresh }
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
    }

    var summary: Summary { Summary(fresh: fresh, stale: stale, hits: hits, misses: misses) }
}
