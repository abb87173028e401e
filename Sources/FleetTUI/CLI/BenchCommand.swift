import ArgumentParser
import Foundation
import FleetModel

/// `fleet bench-internal …` (hidden): the in-process halves of `make bench` (bench/run.py). They live in
/// the `fleet` binary because the views and the reducer are in this executable target; each prints one
/// JSON line of timings in milliseconds. Not a user command, so not in --help.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-internal",
        abstract: "In-process benchmarks for make bench (internal).",
        shouldDisplay: false,
        subcommands: [Render.self, Filter.self, Parse.self, AgeBench.self, VarsGenerate.self, VarsStatusBench.self,
                      CatalogBench.self])

    struct Geometry: ParsableArguments {
        @Option(help: "Inventory directory (inventory.json).") var inventory: String
        @Option(help: "Terminal width.") var width = 160
        @Option(help: "Terminal height.") var height = 50
    }

    /// A UI state with the fleet loaded, as the event loop has it after `.inventoryLoaded` and
    /// `.fleetCompleted` (every address, the search index).
    static func loadedState(_ g: Geometry) throws -> AppState {
        let inv = try DirectoryInventoryLoader(directory: g.inventory).load()
        var state = AppState(source: .directory(path: g.inventory), width: g.width, height: g.height)
        let fleet = ResolvedFleet(inv)
        _ = Reducer.reduce(&state, .inventoryLoaded(fleet, revalidating: false))
        _ = Reducer.reduce(&state, .fleetCompleted(fleet, searchIndex: FleetSearch.index(fleet)))
        return state
    }

    /// One frame of the Fleet table: `AppView.render` (the whole screen: header, tabs, table, status
    /// bar) with the cursor at the top and in the middle of the fleet.
    struct Render: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "render")
        @OptionGroup var geometry: Geometry
        @Option var frames = 300

        func run() throws {
            var state = try BenchCommand.loadedState(geometry)
            var sink = 0
            let top = BenchTiming.samples(warmup: 20, iterations: frames) { sink &+= AppView.render(state).cells.count }
            let mid = state.machines.count / 2
            state.cursors[.fleet] = TableCursor(row: mid, offset: max(0, mid - 10))
            let middle = BenchTiming.samples(warmup: 20, iterations: frames) { sink &+= AppView.render(state).cells.count }
            benchPrint("render", ["\"machines\": \(state.machines.count)", "\"width\": \(geometry.width)",
                                  "\"height\": \(geometry.height)", "\"sink\": \(sink % 7)",
                                  BenchSummary(samples: top + middle).json("frame")])
        }
    }

    /// Filter keystroke → frame, as the event loop does it: reduce the key, compare the state with the
    /// one before (the loop redraws only on change), render. `/` opens the line, then the query is
    /// typed one character at a time; repeated `rounds` times.
    struct Filter: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "filter")
        @OptionGroup var geometry: Geometry
        @Option var query = "web prod"
        @Option var rounds = 10

        func run() throws {
            let loaded = try BenchCommand.loadedState(geometry)
            var sink = 0
            var samples: [Double] = []
            var matched = 0
            for round in 0...rounds {
                var state = loaded
                _ = Reducer.reduce(&state, .key(.char("/")))
                for ch in query {
                    let ms = BenchTiming.millis {
                        let before = state
                        _ = Reducer.reduce(&state, .key(.char(ch)))
                        if state != before { sink &+= AppView.render(state).cells.count }
                    }
                    if round > 0 { samples.append(ms) }  // round 0 warms up
                }
                matched = state.fleetRows.count
            }
            benchPrint("filter", ["\"machines\": \(loaded.machines.count)", "\"query\": \"\(query)\"",
                                  "\"matched\": \(matched)", "\"sink\": \(sink % 7)",
                                  BenchSummary(samples: samples).json("keystroke")])
        }
    }

    /// Inventory parse + resolution: `DirectoryInventoryLoader.load` (inventory.json, systems.json,
    /// machines/ → `Inventory`) and `ResolvedFleet` (roles, zerotier networks with their IPs from
    /// vars/, targets); `scan` is the JSON scanner alone over the inventory.json bytes.
    /// Baseline: Foundation's JSONSerialization parsing the same bytes (no model, no resolution).
    struct Parse: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "parse")
        @Option var inventory: String
        @Option var iterations = 10

        func run() throws {
            var machines = 0
            var load: [Double] = [], resolve: [Double] = []
            for i in 0...iterations {
                var inv: Inventory?
                let l = try BenchTiming.millis { inv = try DirectoryInventoryLoader(directory: inventory).load() }
                guard let inv else { throw CLIError("fleet: \(inventory): no inventory") }
                var fleet: ResolvedFleet?
                let r = BenchTiming.millis { fleet = ResolvedFleet(inv) }
                machines = fleet?.inventory.machines.count ?? 0
                if i > 0 { load.append(l); resolve.append(r) }
            }
            let path = inventory + "/inventory.json"
            guard let bytes = FileBytes.read(path) else { throw CLIError("fleet: \(path): cannot read") }
            var entries = 0
            let scan = try BenchTiming.samples(warmup: 1, iterations: iterations) {
                entries = try JSONDocument(bytes).next(0)
            }
            let data = Data(bytes)
            let baseline = try BenchTiming.samples(warmup: 1, iterations: iterations) {
                _ = try JSONSerialization.jsonObject(with: data)
            }
            benchPrint("parse", ["\"machines\": \(machines)", "\"bytes\": \(bytes.count)", "\"tape_entries\": \(entries)",
                                 BenchSummary(samples: zip(load, resolve).map { $0 + $1 }).json("total"),
                                 BenchSummary(samples: load).json("load"), BenchSummary(samples: resolve).json("resolve"),
                                 BenchSummary(samples: scan).json("scan"),
                                 BenchSummary(samples: baseline).json("jsonserialization")])
        }
    }

    /// age encrypt + decrypt of a `--size`-byte var in-process, with the identity the driver made with
    /// `age-keygen` (the driver times the `age` CLI doing the same work).
    struct AgeBench: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "age")
        @Option var identity: String
        @Option var size = 1024
        @Option var iterations = 200

        func run() throws {
            let ids = try AgeIdentity.parseFile(try String(contentsOfFile: identity, encoding: .utf8), source: identity)
            guard let id = ids.first else { throw CLIError("fleet: \(identity): no identity") }
            var rng = SystemRandomNumberGenerator()
            let plain = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var ok = true
            let samples = try BenchTiming.samples(warmup: 10, iterations: iterations) {
                let ct = try Age.encrypt(plain, to: [id.recipient])
                let back = try Age.decrypt(ct, with: [id])
                if back != plain { ok = false }
            }
            guard ok else { throw CLIError("fleet: age round trip returned different bytes") }
            benchPrint("age", ["\"bytes\": \(size)", BenchSummary(samples: samples).json("roundtrip")])
        }
    }
}
