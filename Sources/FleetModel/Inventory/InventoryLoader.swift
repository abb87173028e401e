import Foundation

/// One inventory result on the way to the fresh one.
public struct InventorySnapshot: Sendable {
    public enum Stage: String, Sendable {
        /// The last evaluation of this exact flake state, from the cache.
        case cached
        /// `inventory.json` + `machines/` read directly: no Nix-defined data.
        case offline
        /// Evaluated just now (or a directory source, which is always fresh).
        case fresh
    }
    public var inventory: Inventory
    public var stage: Stage
    /// A hit of the resolved-fleet cache (directory sources): holds the stored addresses.
    public var cached: CachedFleet?
    /// With `InventoryLoader.deferSnapshotStore`: stores this inventory in the resolved-fleet cache
    /// with the addresses given (nil: the inventory only), for the caller to run once it has shown
    /// it and resolved its addresses (the store must not compete with a first frame).
    public var storeSnapshot: (@Sendable (AddressRecording?) -> Void)?
    /// The UI shows "revalidating" until a `.fresh` snapshot arrives.
    public var isRevalidating: Bool { stage != .fresh }

    public init(inventory: Inventory, stage: Stage, cached: CachedFleet? = nil,
                storeSnapshot: (@Sendable (AddressRecording?) -> Void)? = nil) {
        self.inventory = inventory
        self.stage = stage
        self.cached = cached
        self.storeSnapshot = storeSnapshot
    }
}

/// Loads an inventory from any source: a fast first result, then the fresh one.
///
///     for try await snap in InventoryLoader(source: src).updates() { show(snap) }
///
/// For a flake: the cached evaluation when its key still matches (else the offline fast path), then
/// `nix eval`, which also refreshes the cache. A failed evaluation ends the stream with the error
/// after the fast result, so the UI can keep showing it next to the error.
public struct InventoryLoader: Sendable {
    public var source: InventorySource
    public var evaluator: FlakeEvaluator
    public var cache: InventoryCache?
    /// Resolved directory sources, keyed by their files' identity (`ResolvedFleetCache`).
    public var snapshots: ResolvedFleetCache?
    /// Hand the snapshot store to the caller (`InventorySnapshot.storeSnapshot`) instead of storing
    /// right after yielding.
    public var deferSnapshotStore = false

    public init(source: InventorySource, evaluator: FlakeEvaluator = FlakeEvaluator(),
                cache: InventoryCache? = InventoryCache(directory: InventoryCache.defaultDirectory()),
                snapshots: ResolvedFleetCache? = ResolvedFleetCache(directory: InventoryCache.defaultDirectory())) {
        self.source = source
        self.evaluator = evaluator
        self.cache = cache
        self.snapshots = snapshots
    }

    public func updates() -> AsyncThrowingStream<InventorySnapshot, Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    switch source {
                    case .directory, .demo:
                        // Unchanged files: the stored snapshot is the fresh inventory. Otherwise read
                        // them, hand the result on, then store it (after the caller has it).
                        var snap = try localSnapshot()!
                        let store = snap.storeSnapshot
                        if !deferSnapshotStore { snap.storeSnapshot = nil }
                        continuation.yield(snap)
                        if !deferSnapshotStore, snap.cached == nil { store?(nil) }
                    case .flake(let flake):
                        let dir = FlakeEvaluator.localDirectory(flake)
                        var key: String?
                        if let dir, let cache {
                            key = await cache.key(flakeDirectory: dir)
                            if let key, let bytes = cache.load(flakeDirectory: dir, key: key),
                               let inv = try? FlakeEvaluator.decode(bytes, flake: flake) {
                                continuation.yield(InventorySnapshot(inventory: inv, stage: .cached))
                            } else if let inv = try? DirectoryInventoryLoader(directory: dir, inventoryJSONOptional: true).load() {
                                continuation.yield(InventorySnapshot(inventory: inv, stage: .offline))
                            }
                        } else if let dir, let inv = try? DirectoryInventoryLoader(directory: dir, inventoryJSONOptional: true).load() {
                            continuation.yield(InventorySnapshot(inventory: inv, stage: .offline))
                        }
                        let bytes = try await evaluator.evaluateJSON(flake)
                        let inv = try FlakeEvaluator.decode(bytes, flake: flake)
                        if let dir, let cache, let key { try? cache.store(flakeDirectory: dir, key: key, serialization: bytes) }
                        continuation.yield(InventorySnapshot(inventory: inv, stage: .fresh))
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// A directory or demo source's one (fresh) snapshot, read on the caller's thread — the
    /// dashboard reads it on a thread of its own, so the first frame does not queue behind other
    /// tasks on the concurrency pool (docs/PERFORMANCE.md) —; nil for a flake (`updates()`).
    /// A directory source's snapshot carries the resolved-fleet cache store to run once the caller
    /// has the addresses (`storeSnapshot`; only needed when they were not all valid in the cache:
    /// `ResolvedFleet.completedRecording`).
    /// A hit of more than `previewRows` machines is handed to `preview` first with only its first
    /// `previewRows` machine records decoded (`FleetPreview`, the dashboard's first frame), before
    /// the others are.
    public func localSnapshot(previewRows: Int = 0, preview: ((FleetPreview) -> Void)? = nil) throws -> InventorySnapshot? {
        switch source {
        case .directory(let p):
            let identity = snapshots.flatMap { _ in ResolvedFleetCache.identity(source: p) }
            var cached: CachedFleet?
            // With a preview, the rest of the file (instances) is decoded after it is handed on.
            if let opened = snapshots?.open(source: p, deferRest: preview != nil) {
                if let preview, let first = ResolvedFleet.preview(opened, rows: previewRows) { preview(first) }
                opened.startRest()
                cached = CachedFleet(opened)
            }
            let inv = try cached?.inventory ?? DirectoryInventoryLoader(directory: p).load()
            var store: (@Sendable (AddressRecording?) -> Void)?
            if let snapshots, let identity { store = { snapshots.store(inv, addresses: $0, source: p, identity: identity) } }
            return InventorySnapshot(inventory: inv, stage: .fresh, cached: cached, storeSnapshot: store)
        case .demo(let p):
            return InventorySnapshot(inventory: try DirectoryInventoryLoader(directory: p).load(), stage: .fresh)
        case .flake:
            return nil
        }
    }

    /// The authoritative inventory (for the CLI): evaluates a flake, reads a directory.
    public func loadFresh() async throws -> Inventory {
        var last: Inventory?
        for try await snap in updates() where snap.stage == .fresh { last = snap.inventory }
        guard let last else { throw CancellationError() }
        return last
    }
}
