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

    /// Vars status from files alone for every machine, as `fleet vars check` computes it: the sops key
    /// index (every key.json), then `VarsStatusChecker.status` per machine (file presence, links,
    /// recipients inside each secret, validation hashes). Generator definitions (generators.json) are
    /// loaded once, untimed, like the inventory. Baseline: the filesystem floor — reading every secret
    /// file, stat-ing every value and reading every link the status looks at, with no parsing.
    struct VarsStatusBench: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "vars-status")
        @Option var dir: String
        @Option var iterations = 3

        func run() throws {
            let repo = VarsRepository(clanDirectory: dir)
            var catalog: GeneratorCatalog?
            let catalogMs = try BenchTiming.millis { catalog = try repo.loadDirectoryCatalog() }
            guard let catalog else { throw CLIError("fleet: \(dir): no generators.json") }
            var problems = 0, files = 0
            let status = try Self.adaptive(iterations) {
                let checker = VarsStatusChecker(clanDirectory: repo.clanDirectory, catalog: catalog)
                problems = 0
                files = 0
                for m in catalog.machineNames {
                    let s = try checker.status(machine: m)
                    if s.hasProblems { problems += 1 }
                    files += s.generators.reduce(0) { $0 + $1.files.count }
                }
            }
            let floor = Self.adaptive(iterations) { _ = Self.filesystemFloor(repo.clanDirectory, catalog) }
            benchPrint("vars-status", ["\"machines\": \(catalog.machineNames.count)", "\"files\": \(files)",
                                       "\"machines_with_problems\": \(problems)",
                                       "\"catalog_ms\": \(String(format: "%.1f", catalogMs))",
                                       BenchSummary(samples: status).json("status"),
                                       BenchSummary(samples: floor).json("filesystem_floor")])
        }

        /// One warm-up run, then `iterations` timed ones — unless the warm-up took over 2 s, then it is
        /// the only sample (a slow status at 10k would otherwise take minutes).
        static func adaptive(_ iterations: Int, _ body: () throws -> Void) rethrows -> [Double] {
            let first = try BenchTiming.millis(body)
            if first > 2000 { return [first] }
            return try BenchTiming.samples(warmup: 0, iterations: iterations, body)
        }

        /// Bytes read: every secret read whole, every value stat-ed, every link read.
        static func filesystemFloor(_ root: String, _ catalog: GeneratorCatalog) -> Int {
            var total = 0
            var buf = [UInt8](repeating: 0, count: 65536)
            var st = stat()
            var link = [CChar](repeating: 0, count: 4096)
            for m in catalog.machineNames {
                for g in catalog.generators(for: m) {
                    let genDir = root + "/vars/" + g.id.relDir
                    for f in g.files {
                        let d = genDir + "/" + f.name
                        if f.secret {
                            let fd = open(d + "/secret", O_RDONLY)
                            if fd >= 0 {
                                var n = 0
                                repeat { n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }; total += max(0, n) } while n > 0
                                close(fd)
                            }
                            for sub in ["machines", "users"] {
                                if let dp = opendir(d + "/" + sub) {
                                    while let e = readdir(dp) {
                                        let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                                        if name == "." || name == ".." { continue }
                                        total += max(0, readlink(d + "/" + sub + "/" + name, &link, link.count))
                                    }
                                    closedir(dp)
                                }
                            }
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
