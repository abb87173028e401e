import ArgumentParser
import Foundation
import FleetModel
#if canImport(Glibc)
import Glibc
#endif

extension BenchCommand {
    /// Writes a synthetic vars tree (`BenchVarsTree`) next to a fleet written by `fleet demo generate`.
    struct VarsGenerate: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "vars-generate")
        @Option var dir: String
        @Option var generators = 10

        func run() throws {
            let inv = try DirectoryInventoryLoader(directory: dir).load()
            let ms = try BenchTiming.millis {
                try BenchVarsTree(machineNames: Array(inv.machines.keys), generators: generators).write(to: dir)
            }
            benchPrint("vars-generate", ["\"machines\": \(inv.machines.count)", "\"generators\": \(generators)",
                                         "\"ms\": \(String(format: "%.1f", ms))"])
        }
    }

    /// Vars status of every machine as `fleet vars check` computes it (`VarsStatusIndex`: the sops key
    /// index, then per machine file presence, links, recipients inside each secret, validation
    /// hashes). Generator definitions (generators.json) are loaded once, untimed, like the inventory.
    ///
    /// - cold: an empty cache directory each run — every file is read and parsed, and the index is
    ///   written;
    /// - warm: the index the cold runs wrote, loaded from its file each run — every file is stat-ed,
    ///   none read (nothing changed);
    /// - filesystem floor: the same files touched with plain syscalls and no parsing, single-threaded —
    ///   what a cold status cannot avoid (`filesystemFloor`);
    /// - stat floor: the calls a warm run makes to take its stamps (every `fstatat`/`lstat` and machine
    ///   directory open, recorded from one more warm run: `VarsStatusIndex.recordStamps`), made again
    ///   with nothing else on the same threads (`VarsStatusIndex.replay`) — what a warm status cannot
    ///   avoid. Sampled alternately with warm, so both see the same load.
    ///
    /// Warm and cold must give the same statuses, and the stat floor must make as many stat calls as
    /// a warm run (checked; the bench fails otherwise).
    struct VarsStatusBench: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "vars-status")
        @Option var dir: String
        @Option var iterations = 3
        @Option(help: "Threads for the status (default: the index's, up to the core count).") var threads: Int?

        func run() throws {
            let repo = VarsRepository(clanDirectory: dir)
            var catalog: GeneratorCatalog?
            let catalogMs = try BenchTiming.millis { catalog = try repo.loadDirectoryCatalog() }
            guard let catalog else { throw CLIError("fleet: \(dir): no generators.json") }
            let machines = catalog.machineNames
            let cacheRoot = FileManager.default.temporaryDirectory.path + "/fleet-bench-vars-cache-\(getpid())"
            defer { try? FileManager.default.removeItem(atPath: cacheRoot) }

            let floor = Self.adaptive(iterations) { _ = Self.filesystemFloor(repo.clanDirectory, catalog) }

            var coldResult: [MachineVarsStatus] = []
            var coldStats = VarsStatusIndex.Stats()
            var run = 0
            let cold = try Self.adaptive(iterations) {
                run += 1
                var index = VarsStatusIndex(clanDirectory: repo.clanDirectory, cacheDirectory: cacheRoot + "/\(run)")
                if let threads { index.threads = threads }
                let r = try index.run(machines, catalog: catalog)
                coldResult = r.statuses
                coldStats = r.stats
            }
            var warmIndex = VarsStatusIndex(clanDirectory: repo.clanDirectory, cacheDirectory: cacheRoot + "/\(run)")
            if let threads { warmIndex.threads = threads }
            let (recordedStats, recording) = try warmIndex.recordStamps(machines, catalog: catalog)
            var warmResult: [MachineVarsStatus] = []
            var warmStats = VarsStatusIndex.Stats()
            var replayed = 0
            let (warm, statFloor, warmCPU, statFloorCPU) = try Self.adaptivePair(iterations, {
                let r = try warmIndex.run(machines, catalog: catalog)
                warmResult = r.statuses
                warmStats = r.stats
            }, {
                replayed = warmIndex.replay(recording)
            })
            guard warmResult == coldResult else { throw CLIError("fleet: warm and cold vars status differ") }
            guard recording.stamps == recordedStats.stamps, recording.stamps == warmStats.stamps, replayed == recording.stamps else {
                throw CLIError("fleet: the stat floor's calls are not the warm run's: recorded \(recording.stamps) of \(recordedStats.stamps), warm \(warmStats.stamps), replayed \(replayed)")
            }
            let problems = coldResult.filter(\.hasProblems).count
            let files = coldResult.reduce(0) { $0 + $1.generators.reduce(0) { $0 + $1.files.count } }
            func stats(_ s: VarsStatusIndex.Stats) -> String {
                "{\"hits\": \(s.hits), \"misses\": \(s.misses), \"loaded_entries\": \(s.loadedEntries), \"stored_entries\": \(s.storedEntries), \"stamps\": \(s.stamps)}"
            }
            let indexBytes = (try? FileManager.default.attributesOfItem(atPath: VarsStatusIndex(clanDirectory: repo.clanDirectory, cacheDirectory: cacheRoot + "/\(run)").file!)[.size] as? Int) ?? 0
            benchPrint("vars-status", ["\"machines\": \(machines.count)", "\"files\": \(files)",
                                       "\"machines_with_problems\": \(problems)",
                                       "\"catalog_ms\": \(String(format: "%.1f", catalogMs))",
                                       "\"threads\": \(threads ?? VarsStatusIndex(clanDirectory: dir).threads)",
                                       "\"index_bytes\": \(indexBytes)",
                                       "\"cold_stats\": \(stats(coldStats))", "\"warm_stats\": \(stats(warmStats))",
                                       BenchSummary(samples: cold).json("cold"),
                                       BenchSummary(samples: warm).json("warm"),
                                       BenchSummary(samples: floor).json("filesystem_floor"),
                                       "\"stat_floor_calls\": {\"stamps\": \(recording.stamps), \"machine_opens\": \(recording.machineOpens), \"readers\": \(recording.readers)}",
                                       BenchSummary(samples: statFloor).json("stat_floor"),
                                       BenchSummary(samples: warmCPU).json("warm_cpu"),
                                       BenchSummary(samples: statFloorCPU).json("stat_floor_cpu")])
        }

        /// One warm-up run, then `iterations` timed ones — unless the warm-up took over 2 s, then it and
        /// `iterations - 1` more are the samples (a slow run at 10k would otherwise take minutes).
        static func adaptive(_ iterations: Int, _ body: () throws -> Void) rethrows -> [Double] {
            let first = try BenchTiming.millis(body)
            if first > 2000 { return [first] + (try BenchTiming.samples(warmup: 0, iterations: max(0, iterations - 1), body)) }
            return try BenchTiming.samples(warmup: 0, iterations: iterations, body)
        }

        /// `adaptive` for two bodies sampled alternately (a, b, a, b, …) after one warm-up each, so a
        /// change of load falls on both. With each wall sample, the process's CPU time (user + sys, all
        /// threads) over it: on a loaded machine the CPU ratio holds where the wall one does not.
        static func adaptivePair(_ iterations: Int, _ a: () throws -> Void, _ b: () throws -> Void) rethrows
            -> (a: [Double], b: [Double], cpuA: [Double], cpuB: [Double]) {
            func timed(_ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
                let c0 = cpuMillis()
                let wall = try BenchTiming.millis(body)
                return (wall, cpuMillis() - c0)
            }
            let firstA = try timed(a), firstB = try timed(b)
            var sa = firstA.wall > 2000 ? [firstA] : [], sb = firstB.wall > 2000 ? [firstB] : []
            let na = max(0, iterations - sa.count), nb = max(0, iterations - sb.count)
            for i in 0..<max(na, nb) {
                if i < na { sa.append(try timed(a)) }
                if i < nb { sb.append(try timed(b)) }
            }
            return (sa.map(\.wall), sb.map(\.wall), sa.map(\.cpu), sb.map(\.cpu))
        }

        /// The process's CPU time so far (user + sys), milliseconds.
        static func cpuMillis() -> Double {
            var ru = rusage()
            getrusage(RUSAGE_SELF.rawValue, &ru)
            func ms(_ t: timeval) -> Double { Double(t.tv_sec) * 1000 + Double(t.tv_usec) / 1000 }
            return ms(ru.ru_utime) + ms(ru.ru_stime)
        }

        /// The syscalls a cold status cannot avoid, with no parsing, on one thread: list `sops/users`
        /// and `sops/machines` and read every key.json; per generator stat `.validation-hash`; per
        /// secret stat + read it whole, stat + list its `machines/` and `users/` and read every link,
        /// stat `groups/`; per public value stat it. Returns the bytes read (so nothing is elided).
        static func filesystemFloor(_ root: String, _ catalog: GeneratorCatalog) -> Int {
            var total = 0
            var buf = [UInt8](repeating: 0, count: 65536)
            var st = stat()
            var link = [CChar](repeating: 0, count: 4096)
            func readWhole(_ p: String) {
                guard stat(p, &st) == 0 else { return }
                let fd = open(p, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { return }
                var n = 0
                repeat { n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }; total += max(0, n) } while n > 0
                close(fd)
            }
            func readLinks(_ dir: String) {
                guard stat(dir, &st) == 0, let dp = opendir(dir) else { return }
                while let e = readdir(dp) {
                    let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                    if name == "." || name == ".." { continue }
                    total += max(0, readlink(dir + "/" + name, &link, link.count))
                }
                closedir(dp)
            }
            for kind in ["users", "machines"] {
                let base = root + "/sops/" + kind
                guard stat(base, &st) == 0, let dp = opendir(base) else { continue }
                var names: [String] = []
                while let e = readdir(dp) {
                    let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(dp)
                for n in names { readWhole(base + "/" + n + "/key.json") }
            }
            for m in catalog.machineNames {
                for g in catalog.generators(for: m) {
                    let genDir = root + "/vars/" + g.id.relDir
                    readWhole(genDir + "/.validation-hash")
                    for f in g.files {
                        let d = genDir + "/" + f.name
                        if f.secret {
                            readWhole(d + "/secret")
                            readLinks(d + "/machines")
                            readLinks(d + "/users")
                            if stat(d + "/groups", &st) == 0 { total += 1 }
                        } else if stat(d + "/value", &st) == 0 {
                            total += 1
                        }
                    }
                }
            }
            return total
        }
    }
}
