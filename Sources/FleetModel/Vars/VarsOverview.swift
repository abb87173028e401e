/// Secret health of one machine, for the Fleet table's column and the Vars screen's headers.
public struct VarsHealth: Equatable, Sendable {
    public var missing = 0
    public var unfixed = 0
    public var invalid = 0
    public var undecryptable = 0
    public var files = 0

    public var isOK: Bool { missing == 0 && unfixed == 0 && invalid == 0 }

    /// `ok`, or the problems in clan's order: `2 missing, 1 unfixed, 1 outdated`.
    public var summary: String {
        if files == 0 { return "-" }
        var parts: [String] = []
        if missing > 0 { parts.append("\(missing) missing") }
        if unfixed > 0 { parts.append("\(unfixed) unfixed") }
        if invalid > 0 { parts.append("\(invalid) outdated") }
        return parts.isEmpty ? "ok" : parts.joined(separator: ", ")
    }

    public init(_ s: MachineVarsStatus) {
        files = s.generators.reduce(0) { $0 + $1.files.count }
        missing = s.missingSecretVars.count + s.missingPublicVars.count
        unfixed = s.unfixedSecretVars.count
        invalid = s.invalidGenerators.count
        undecryptable = s.undecryptableVars.count
    }

    public init() {}
}

/// Everything the Vars screen shows, computed from files alone (fast, no decryption): per machine its
/// generators (per-machine and the shared ones it declares) with file status, each shared generator
/// once, and the disk scan (orphans, unknown keys, machine keys) — which is all there is when no
/// generator definitions are available.
public struct VarsOverview: Sendable {
    /// nil without generator definitions (or after `releaseCatalog`).
    public private(set) var catalog: GeneratorCatalog?
    /// Whether there were generator definitions (statuses); stays true after `releaseCatalog`.
    public let hasDefinitions: Bool
    public let machines: [MachineVarsStatus]
    /// Each shared generator once, seen from its first declaring machine; `sharedAccess` adds the
    /// machines that miss access.
    public let shared: [GeneratorStatus]
    public let sharedMissingAccess: [GeneratorID: [String]]
    /// The flake-level (per-export) generators, one status per export key.
    public var exports: [MachineVarsStatus] = []
    public let scan: VarsDiskScan
    /// Position of each machine in `machines` (`health` is asked once per Fleet row: 10k rows).
    private let machineIndex: [String: Int]

    public init(catalog: GeneratorCatalog?, machines: [MachineVarsStatus], shared: [GeneratorStatus],
                sharedMissingAccess: [GeneratorID: [String]], exports: [MachineVarsStatus] = [], scan: VarsDiskScan) {
        self.catalog = catalog
        self.hasDefinitions = catalog != nil
        self.machines = machines
        self.shared = shared
        self.sharedMissingAccess = sharedMissingAccess
        self.exports = exports
        self.scan = scan
        var index: [String: Int] = [:]
        index.reserveCapacity(machines.count)
        for (i, m) in machines.enumerated() where index[m.machine] == nil { index[m.machine] = i }
        machineIndex = index
    }

    /// Statuses come from the vars status index (`index`; by default the one in the cache directory).
    ///
    /// With generator definitions the statuses come first, with public values, and the disk scan
    /// then skips every file they reported (`VarsDiskScan.Covered`): it only finds what no
    /// definition declares (orphans, leftovers, `sops/secrets`): a declared generator directory costs
    /// it one listing instead of a walk of its files (docs/PERFORMANCE.md, eleventh session). Keys
    /// with no known owner are the scan's plus the statuses' recipients without an owner.
    public static func load(repository: VarsRepository, catalog: GeneratorCatalog?, adminRecipients: Set<SopsKeyRef>?,
                            index: VarsStatusIndex? = nil) throws -> VarsOverview {
        let index = index ?? VarsStatusIndex(clanDirectory: repository.clanDirectory)
        guard let catalog else {
            let scan = index.scan(inventoryMachines: repository.inventoryMachines()).scan
            return VarsOverview(catalog: nil, machines: [], shared: [], sharedMissingAccess: [:], scan: scan)
        }
        let run = try index.overview(catalog.machineNames, catalog: catalog, adminRecipients: adminRecipients,
                                     inventoryMachines: repository.inventoryMachines())
        let machines = run.statuses
        var checker = VarsStatusChecker(clanDirectory: repository.clanDirectory, catalog: catalog, keys: run.keys, adminRecipients: adminRecipients)
        checker.collectValues = true
        let exports = checker.exportStatuses()
        var scan = run.scan
        var unknown = Set(scan.unknownKeys)
        for m in machines + exports {
            for g in m.generators { for f in g.files { for r in f.recipients where r.owners.isEmpty { unknown.insert(r.key) } } }
        }
        if unknown.count != scan.unknownKeys.count { scan.unknownKeys = unknown.sorted() }
        var shared: [GeneratorID: GeneratorStatus] = [:]
        var access: [GeneratorID: [String]] = [:]
        for m in machines {
            for g in m.generators where g.id.isShared {
                if shared[g.id] == nil { shared[g.id] = g }
                if g.files.contains(where: { if case .missingAccess = $0.problem { return true } else { return false } }) {
                    access[g.id, default: []].append(m.machine)
                }
            }
        }
        return VarsOverview(catalog: catalog, machines: machines, shared: shared.keys.sorted().compactMap { shared[$0] },
                            sharedMissingAccess: access, exports: exports, scan: scan)
    }

    /// Lets the catalog go when nothing after needs it (the Vars screen's rows need only the
    /// statuses): at 10k machines × 10 generators it is ~45 MB that the rows' build, the UI's memory
    /// peak, would otherwise hold too.
    public mutating func releaseCatalog() { catalog = nil }

    public func health(_ machine: String) -> VarsHealth {
        machineIndex[machine].map { VarsHealth(machines[$0]) } ?? VarsHealth()
    }
}
