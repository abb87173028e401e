import Collections
import Synchronization

/// Everything the screens need about the fleet, computed once per loaded inventory:
/// role membership, per-machine services with settings, deploy targets, zerotier networks.
///
/// The addresses (targets, overlay IPs, zerotier networks) are read from `vars/` — at 10k machines
/// about 8,000 file opens, most of a first frame (make bench). The dashboard therefore first takes a
/// fleet whose addresses cover only the machines of its first screen (`firstScreen`), draws it, and
/// reads the rest after the frame (`completed()`); the CLI takes the whole fleet at once (`init`).
public struct ResolvedFleet: Sendable {
    public let inventory: Inventory
    /// Role membership, computed on first use (a cache hit's first frame takes the roles of its
    /// rows from the cache instead; the completion computes it off the UI thread).
    public var resolution: InventoryResolution { resolved.value }
    /// The vars directory the targets were read from (network addresses).
    public let vars: VarsDirectory?
    public let addresses: FleetAddresses
    /// Shared by a first-screen fleet and its completion, so the dashboard can tell that a completion
    /// belongs to the inventory on screen (and not to one that replaced it meanwhile).
    private let load: LoadIdentity
    private let resolved: LazyResolution
    /// A cache hit: the first-screen fleet's remaining addresses come from it while their files are
    /// unchanged, and every fleet of this load takes roles from it until `resolution` is computed.
    private let cache: CachedFleet?
    /// Whether every address came from the cache (nothing to store again).
    public let addressesFromCache: Bool
    /// Where a cache hit's roles come from until `resolution` is computed: `cache`'s file, or the
    /// file a preview was read from.
    private let storedRoles: CachedFleetFile?
    /// A first screen's rows resolved alone (`firstScreen` without a cache), until `resolution` is.
    private let firstRoles: InventoryResolution?

    private final class LoadIdentity: Sendable {}

    /// `vars` defaults to the `vars/` next to the inventory (`Inventory.clanDirectory`); `recorder`
    /// records the `vars/` files read (for the resolved-fleet cache); `prefetched`: files of that
    /// directory read ahead while the inventory was parsed (used only with `recorder`).
    public init(_ inventory: Inventory, vars: VarsDirectory? = nil, recorder: VarsReadRecorder? = nil,
                prefetched: ZerotierPrefetch? = nil) {
        let vars = vars ?? inventory.clanDirectory.map { VarsDirectory(root: $0) }
        let resolved = LazyResolution(inventory)
        self.init(inventory, resolved, vars, FleetAddresses.resolve(resolved.value, vars: vars, recorder: recorder, prefetched: prefetched),
                  LoadIdentity())
    }

    /// The fleet of a cache hit: addresses from the cache while their files are unchanged, else
    /// read from `vars/` (recorded by `recorder`, so they can be stored again).
    public init(cached: CachedFleet, recorder: VarsReadRecorder? = nil) {
        let inventory = cached.inventory
        let vars = inventory.clanDirectory.map { VarsDirectory(root: $0) }
        let resolved = LazyResolution(inventory)
        if let all = cached.all() {
            self.init(inventory, resolved, vars, all, LoadIdentity(), cache: cached, fromCache: true)
        } else {
            self.init(inventory, resolved, vars, FleetAddresses.resolve(resolved.value, vars: vars, recorder: recorder), LoadIdentity())
        }
    }

    /// Roles resolved for every machine, addresses only for the first `rows` machines in inventory
    /// order (what the Fleet table shows first). Complete at once when the fleet is that small.
    /// With `cached` (a cache hit of this inventory), the first rows' addresses come from it when
    /// their files are unchanged, roles until `resolution` is computed, and `completed()` takes the
    /// rest of the addresses from it.
    public static func firstScreen(_ inventory: Inventory, rows: Int, vars: VarsDirectory? = nil,
                                   cached: CachedFleet? = nil) -> ResolvedFleet {
        let vars = vars ?? inventory.clanDirectory.map { VarsDirectory(root: $0) }
        let resolved = LazyResolution(inventory)
        guard inventory.machines.count > rows else {
            if let all = cached?.all() { return ResolvedFleet(inventory, resolved, vars, all, LoadIdentity(), cache: cached, fromCache: true) }
            return ResolvedFleet(inventory, resolved, vars, FleetAddresses.resolve(resolved.value, vars: vars), LoadIdentity())
        }
        if let cached, cached.hasRoles, let first = cached.firstRows(rows) {
            return ResolvedFleet(inventory, resolved, vars, first, LoadIdentity(), cache: cached)
        }
        // The first rows' roles and addresses from a resolution of those rows alone: a machine's
        // roles depend only on its own name and tags and on the instances. The whole fleet's
        // resolution waits for `completed()` (off the UI thread, after the first frame).
        let first = Array(inventory.machines.values.prefix(rows))
        var part = inventory
        part.machines = OrderedDictionary(uncheckedUniqueKeys: first.map(\.name), values: first)
        let firstRoles = InventoryResolution(part, warnings: false)
        return ResolvedFleet(inventory, resolved, vars, FleetAddresses.resolve(firstRoles, vars: vars, only: first), LoadIdentity(),
                             firstRoles: firstRoles)
    }

    private init(_ inventory: Inventory, _ resolved: LazyResolution, _ vars: VarsDirectory?,
                 _ addresses: FleetAddresses, _ load: LoadIdentity, cache: CachedFleet? = nil, fromCache: Bool = false,
                 storedRoles: CachedFleetFile? = nil, firstRoles: InventoryResolution? = nil) {
        self.inventory = inventory
        self.resolved = resolved
        self.vars = vars
        self.addresses = addresses
        self.load = load
        self.cache = cache?.hasRoles == true ? cache : nil
        self.addressesFromCache = fromCache
        self.storedRoles = storedRoles ?? self.cache?.file
        self.firstRoles = firstRoles
    }

    /// The first `rows` machines of an opened cache file, with their roles and addresses from it,
    /// without decoding the other records: what the dashboard's first frame shows of a big fleet
    /// while the rest is decoded (`FleetPreview`). Nil when the fleet has no more than `rows`
    /// machines, when the file holds no roles and addresses, or when the first rows' files changed
    /// (the first frame then waits for the whole load).
    static func preview(_ file: CachedFleetFile, rows: Int) -> FleetPreview? {
        guard rows > 0, file.machineCount > rows, file.addressesAt != nil else { return nil }
        var strings = file.stringReader(memo: false)
        var keys: [String] = []
        var values: [Machine] = []
        keys.reserveCapacity(rows)
        values.reserveCapacity(rows)
        for i in 0..<rows {
            guard let m = file.machine(i, &strings), keys.last.map({ $0 < m.name }) ?? true else { return nil }
            keys.append(m.name)
            values.append(m)
        }
        guard let addresses = file.firstRows(rows, names: keys), var inv = file.meta() else { return nil }
        inv.machines = OrderedDictionary(uncheckedUniqueKeys: keys, values: values)   // strictly increasing: unique
        inv.clanDirectory = file.source   // tags (the tag → members lists) are not on a first screen
        let fleet = ResolvedFleet(inv, LazyResolution(inv), VarsDirectory(root: file.source), addresses, LoadIdentity(), storedRoles: file)
        return FleetPreview(fleet: fleet, machineCount: file.machineCount)
    }

    /// Every address (self when it already is): from the cache while its files are unchanged, else
    /// read from `vars/`. Computes `resolution` (it runs off the UI thread).
    public func completed() -> ResolvedFleet {
        _ = resolved.value
        if isComplete { return self }
        if let all = cache?.all() { return ResolvedFleet(inventory, resolved, vars, all, load, cache: cache, fromCache: true) }
        return ResolvedFleet(inventory, resolved, vars, FleetAddresses.resolve(resolved.value, vars: vars), load)
    }

    /// The complete fleet and, unless its addresses came from the cache, the `vars/` reads they were
    /// derived from (for `ResolvedFleetCache.store`; never a recording that misses a read).
    public func completedRecording() -> (fleet: ResolvedFleet, recording: AddressRecording?) {
        _ = resolved.value
        if addressesFromCache { return (self, nil) }
        if !isComplete, let all = cache?.all() { return (ResolvedFleet(inventory, resolved, vars, all, load, cache: cache, fromCache: true), nil) }
        let recorder = VarsReadRecorder()
        let addresses = FleetAddresses.resolve(resolved.value, vars: vars, recorder: recorder)
        let complete = ResolvedFleet(inventory, resolved, vars, addresses, load)
        return (complete, AddressRecording(fleet: complete, reads: recorder.finish()))
    }

    /// The checksum of the cache file every address came from (nil: some were read from `vars/`).
    public var cacheChecksum: UInt64? { addressesFromCache ? cache?.checksum : nil }

    /// Whether the addresses known so far came from the resolved-fleet cache (for the log).
    public var addressesCached: Bool { addressesFromCache || cache != nil }

    /// Whether every machine's addresses (and the zerotier networks) have been read.
    public var isComplete: Bool { addresses.covered == nil }
    /// Whether `other` is this fleet or its completion (the same load of the same inventory).
    public func isSameLoad(as other: ResolvedFleet) -> Bool { load === other.load }
    /// Whether the machine's target and overlay IP have been read (a nil target then means "none").
    public func addressesKnown(of machine: String) -> Bool { addresses.covered?.contains(machine) ?? true }

    public var zerotier: [ZerotierNetwork] { addresses.zerotier }
    /// machine → deploy target (the first of clan's candidates; absent where clan has none).
    public var targets: [String: DeployTarget] { addresses.targets }
    /// machine → overlay IP (first zerotier network that has one).
    public var overlayIPs: [String: String] { addresses.overlayIPs }

    /// The machine's roles (`instance/role`) in document order.
    public func roles(of machine: String) -> [String] {
        if let cached = cachedRoles(of: machine) { return cached.map(\.role) }
        return resolution.roles(of: machine)
    }

    /// `roles(of:)` for many machines (`fleet list --json`: all 10k): `body` gets a function from a
    /// machine's row (inventory order) and name to its roles, which takes the resolution once
    /// instead of per machine (a lock and a copy of it each) and indexes it by row (no name lookup).
    public func withRolesOfRows<T>(_ body: (_ roles: (_ row: Int, _ name: String) -> [String]) -> T) -> T {
        if let resolution = computedResolution { return body { row, _ in resolution.roles(ofRow: row) } }
        return body { _, name in roles(of: name) }
    }

    /// The machine's roles in document order with how each is held (`RoleHolding`).
    public func rolesHeld(of machine: String) -> [(role: String, holding: RoleHolding)] {
        if let cached = cachedRoles(of: machine) { return cached }
        return resolution.assignments(of: machine).map { ($0.ref.description, RoleHolding($0)) }
    }

    /// From the cache, or the first rows' own resolution, while the whole fleet's has not been
    /// computed (a first frame's rows).
    private func cachedRoles(of machine: String) -> [(role: String, holding: RoleHolding)]? {
        guard !resolved.isComputed else { return nil }
        if let firstRoles, firstRoles.inventory.machines[machine] != nil {
            return firstRoles.assignments(of: machine).map { ($0.ref.description, RoleHolding($0)) }
        }
        guard let storedRoles, let row = inventory.machines.index(forKey: machine) else { return nil }
        return storedRoles.roles(ofRow: row)
    }

    /// The resolution if it has been computed (nothing is computed by asking).
    var computedResolution: InventoryResolution? { resolved.isComputed ? resolved.value : nil }

    public func services(of machine: String) -> [RoleAssignment] { resolution.assignments(of: machine) }
    public func target(of machine: String) -> DeployTarget? { addresses.targets[machine] }

    /// Every way to reach the machine in clan's order (`DeployTargetResolver.candidates`); `config`
    /// is the flake's evaluated machine config and exports.
    public func targetCandidates(of machine: Machine, config: ClanDeployConfig?) -> [DeployTarget] {
        DeployTargetResolver.candidates(of: machine, resolution: resolution, vars: vars, config: config)
    }
    public func overlayIP(of machine: String) -> String? { addresses.overlayIPs[machine] }

    /// Services screen matrix: rows = machines (inventory order), columns = every instance/role.
    public var roleColumns: [RoleRef] { Array(resolution.roleMembers.keys) }
    public func holds(_ machine: String, _ role: RoleRef) -> Bool { resolution.holds(machine, role) }
}

/// A big fleet's first screen from its resolved-fleet cache, before the rest of the file is decoded
/// (`InventoryLoader.localSnapshot(preview:)`): the dashboard draws its first frame from it — the
/// frame the whole fleet gives, as long as only these rows are on screen — and replaces it with the
/// whole fleet (`Event.inventoryLoaded`) a moment later.
public struct FleetPreview: Sendable {
    /// The first rows' machines in inventory order, with their roles and addresses (`covered`); not
    /// the whole fleet: never stored, completed or resolved.
    public let fleet: ResolvedFleet
    /// How many machines the whole inventory has.
    public let machineCount: Int
}

/// How a machine holds a role: listed by name, through a tag the user set, or only through the
/// implicit `all`/`nixos`/`darwin` tags (which say the least: the Fleet table lists those last).
public enum RoleHolding: UInt8, Sendable, Comparable {
    case byName = 0, byUserTag, byImplicitTag

    init(_ a: RoleAssignment) { self.init(byName: a.byName, byTags: a.byTags) }

    init(byName: Bool, byTags: [String]) {
        if byName { self = .byName; return }
        self = byTags.contains { !["all", "nixos", "darwin"].contains($0) } ? .byUserTag : .byImplicitTag
    }

    public static func < (a: RoleHolding, b: RoleHolding) -> Bool { a.rawValue < b.rawValue }
}

/// `InventoryResolution` computed once, on first use, by whichever thread asks first.
private final class LazyResolution: Sendable {
    private let inventory: Inventory
    private let state = Mutex<InventoryResolution?>(nil)
    private let done = Atomic<Bool>(false)

    init(_ inventory: Inventory) { self.inventory = inventory }

    var isComputed: Bool { done.load(ordering: .acquiring) }

    var value: InventoryResolution {
        state.withLock { r in
            if let r { return r }
            let made = InventoryResolution(inventory)
            r = made
            done.store(true, ordering: .releasing)
            return made
        }
    }
}

/// Where the machines can be reached: deploy targets, overlay IPs and the zerotier networks, read
/// from `vars/` with each zerotier IP file opened once.
public struct FleetAddresses: Equatable, Sendable {
    public var zerotier: [ZerotierNetwork] = []
    public var targets: [String: DeployTarget] = [:]
    public var overlayIPs: [String: String] = [:]
    /// The machines whose addresses were read; nil: all of them, and the zerotier networks.
    public var covered: Set<String>?

    /// Every machine (`only` nil), or just `only` (then without the zerotier networks, which list
    /// every member's IP).
    public static func resolve(_ resolution: InventoryResolution, vars: VarsDirectory?, only: [Machine]? = nil,
                               recorder: VarsReadRecorder? = nil, prefetched: ZerotierPrefetch? = nil) -> FleetAddresses {
        var vars = vars
        if let recorder { vars?.recorder = recorder }
        // Files read ahead answer this resolution's reads (and only this one's: `vars` is a copy).
        if let prefetched, recorder != nil, vars?.root == prefetched.root {
            prefetched.finish()
            vars?.prefetched = prefetched
        }
        var ips = ZerotierIPs(vars: vars)
        var out = FleetAddresses()
        if let only {
            out.covered = Set(only.map(\.name))
            ips.prefetch(resolution, only: out.covered)
            for m in only {
                // The first zerotier network (instance order) with an IP for the machine, as below.
                for a in resolution.assignments(of: m.name) where a.module.name == "zerotier" {
                    if out.overlayIPs[m.name] == nil, let ip = ips.ip(of: m.name, instance: a.ref.instance).0 { out.overlayIPs[m.name] = ip }
                }
                out.targets[m.name] = DeployTargetResolver.first(of: m, resolution: resolution, ips: &ips)
            }
            return out
        }
        ips.prefetch(resolution)
        out.zerotier = ZerotierView.networks(resolution, ips: &ips)
        out.overlayIPs.reserveCapacity(resolution.inventory.machines.count)
        out.targets.reserveCapacity(resolution.inventory.machines.count)
        for net in out.zerotier {
            for m in net.members { if let ip = m.ip, out.overlayIPs[m.machine] == nil { out.overlayIPs[m.machine] = ip } }
        }
        // By row (no name lookups), the closure inline (a closure in a variable copied the
        // resolution for every machine).
        let priorityOfRole = DeployTargetResolver.priorities(of: resolution)
        for (row, m) in resolution.inventory.machines.values.enumerated() {
            if let recorder {
                out.targets[m.name] = recorder.owning(m.name) {
                    DeployTargetResolver.first(of: m, row: row, resolution: resolution, priorityOfRole: priorityOfRole, ips: &ips)
                }
            } else {
                out.targets[m.name] = DeployTargetResolver.first(of: m, row: row, resolution: resolution, priorityOfRole: priorityOfRole, ips: &ips)
            }
        }
        return out
    }
}
