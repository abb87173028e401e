import ArgumentParser
import FleetModel

extension BenchCommand {
    /// Loads a directory's `generators.json` into a `GeneratorCatalog` (read, JSON, definitions, the
    /// catalog's table), one warm-up then `iterations` timed loads. `make bench` runs it on the big
    /// fleet's file and on a copy whose templates are shared — every machine then declares the same
    /// generators, as every machine of a clan zerotier network declares `zerotier-network-<i>`; a
    /// catalog that copies a shared generator's machine list per declarer is quadratic there.
    struct CatalogBench: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "catalog")
        @Option var dir: String
        @Option var iterations = 5

        func run() throws {
            let file = GeneratorsFile(path: dir + "/generators.json")
            var catalog: GeneratorCatalog?
            let samples = try BenchTiming.samples(warmup: 1, iterations: iterations) { catalog = try file.load() }
            let shared = catalog?.generators.values.filter(\.share) ?? []
            benchPrint("catalog", ["\"generators\": \(catalog?.generators.count ?? 0)",
                                   "\"shared\": \(shared.count)",
                                   "\"declarations\": \(catalog?.declarations.values.reduce(0) { $0 + $1.count } ?? 0)",
                                   BenchSummary(samples: samples).json("load")])
        }
    }
}
