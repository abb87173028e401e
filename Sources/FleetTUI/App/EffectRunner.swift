import FleetModel
import Foundation
import Synchronization

/// Performs effects off the UI thread and posts their results back as events.
final class EffectRunner {
    private let queue: EventQueue

    /// Where the fleet comes from (tag edits and reloads go back to it).
    var source: InventorySource

    private let vars: VarsEffects
    /// The machine names of the last inventory posted to the UI (see `VarsEffects`).
    private let loadedMachines = LoadedMachineNames()
    private let deploys: DeployEffects
    /// Opened by the first frame showing the fleet (`fleetShown`).
    let firstFleetFrame = FirstFrameGate()
    /// How long a cached fleet's load waits for its preview's frame at most.
    var previewFrameWait = 0.1

    init(queue: EventQueue, source: InventorySource, deploySettings: DeploySettings = DeploySettings()) {
        self.queue = queue
        self.source = source
        let names = loadedMachines
        vars = VarsEffects(queue: queue, source: source, loadedMachines: { names.get() })
        deploys = DeployEffects(queue: queue, source: source, settings: deploySettings)
    }

    /// Rows whose addresses are read before the first frame: more than any terminal shows.
    static let firstScreenRows = 160

    /// An inventory to the UI in two steps: roles for every machine and addresses for the first
    /// screen's rows (the first frame waits for nothing else), then — `Effect.completeFleet`, after
    /// that frame — every address and the filter's search index (`Event.fleetCompleted`). At 10k
    /// machines the second step is ~8,000 vars files and 10k search lines (docs/PERFORMANCE.md).
    /// A hit of the resolved-fleet cache gives the first screen's addresses (and, after the frame,
    /// the rest) from the cache while their `vars/` files are unchanged.
    private static func post(_ snap: InventorySnapshot, to q: EventQueue, names: LoadedMachineNames) {
        let fleet = ResolvedFleet.firstScreen(snap.inventory, rows: firstScreenRows, cached: snap.cached)
        names.set(snap.inventory, store: snap.storeSnapshot.map { store in (fleet, store) })
        q.post(.inventoryLoaded(fleet, revalidating: snap.isRevalidating))
    }

    /// Tells the inventory load the fleet's first frame is drawn (`firstFleetFrame`): a cached
    /// fleet's full decode waits for it.
    func fleetShown() { firstFleetFrame.open() }

    /// Ends background work that owns processes (probes' ssh masters, a running deploy); stores an
    /// inventory snapshot still waiting, so the next start is warm even after a quick quit.
    func shutdown() {
        firstFleetFrame.open()
        loadedMachines.runPendingStore()
        deploys.shutdown()
    }

    func perform(_ effect: Effect) {
        switch effect {
        case .loadInventory(let source):
            let q = queue
            let names = loadedMachines
            var loader = InventoryLoader(source: source)
            loader.deferSnapshotStore = true   // after the first frame (Effect.completeFleet)
            if !source.isFlake {
                // A directory (or the demo) is read on a thread of its own: the event loop blocks one
                // of the concurrency pool's threads (one per core), and on two cores a task started
                // with it (the history database, the theme names) would run first on the other one.
                let gate = firstFleetFrame
                let wait = previewFrameWait
                Thread.detachNewThread { [loader] in
                    do {
                        // A big cached fleet's first screen goes first (the first frame), then the
                        // whole fleet, decoded once that frame is drawn: decoding meanwhile took
                        // the cores the frame is drawn with.
                        let snap = try loader.localSnapshot(previewRows: EffectRunner.firstScreenRows) {
                            q.post(.inventoryPreview($0))
                            gate.wait(seconds: wait)
                        }
                        if let snap { EffectRunner.post(snap, to: q, names: names) }
                    } catch {
                        q.post(.inventoryFailed(String(describing: error)))
                    }
                }
            } else {
                Task.detached { [loader] in
                    // A flake yields a cached or offline result first, then the evaluated one.
                    do {
                        for try await snap in loader.updates() { EffectRunner.post(snap, to: q, names: names) }
                    } catch {
                        q.post(.inventoryFailed(String(describing: error)))
                    }
                }
            }
        case .loadTheme(let name):
            let q = queue
            Task.detached {
                let (theme, warning) = ThemeCatalog.load(name)
                q.post(.themeLoaded(theme, warning: warning))
            }
        case .loadThemeNames:
            let q = queue
            Task.detached { q.post(.themeNamesLoaded(ThemeCatalog.names())) }
        case .savePaletteHistory(let lines):
            Task.detached { PaletteHistoryStore.save(lines) }
        case .editTags(let machine, let add, let remove):
            let q = queue
            let names = loadedMachines
            let source = self.source
            Task.detached {
                do {
                    let dir = try await ClanLayout.writableClanDirectory(source)
                    let current = try await InventoryLoader(source: source).loadFresh()
                    let writer = InventoryWriter(directory: dir)
                    var messages: [String] = []
                    for t in add { let o = try await writer.addTag(t, to: machine, evaluated: current); if o.changed { messages.append(o.message) } }
                    for t in remove { let o = try await writer.removeTag(t, from: machine, evaluated: current); if o.changed { messages.append(o.message) } }
                    q.post(.toast(messages.isEmpty ? "nothing to change" : messages.joined(separator: "; "), .success))
                    for try await snap in InventoryLoader(source: source).updates() { EffectRunner.post(snap, to: q, names: names) }
                } catch {
                    q.post(.toast("tags not changed: \(error)", .error))
                }
            }
        case .loadVars: vars.load()
        case .varsPlan(let intent): vars.plan(intent)
        case .varsRun(let plan): vars.run(plan)
        case .varsPromptAnswer(let value): vars.answer(value)
        case .varsFix(let machine): vars.fix(machine: machine)
        case .varsReveal(_, let generator, let file): vars.reveal(generator: generator, file: file)
        case .deploy(let machines): deploys.start(machines, kind: .deploy)
        case .rollback(let machines): deploys.start(machines, kind: .rollback)
        case .dryRun(let machines): deploys.start(machines, kind: .dryRun)
        case .cancelDeploy: deploys.cancel()
        case .deployAnswer(let value): deploys.answer(value)
        case .loadHistory(let all): deploys.loadHistory(allFleets: all)
        case .startProbes(let loaded):
            deploys.startProbes(loaded.fleet)
        case .completeFleet(let loaded):
            let q = queue
            let info = loadedMachines
            Task.detached {
                // With a store pending, the addresses are read recording their files (or taken
                // from the cache, when nothing is to be stored again).
                // The store is taken only when it can run: a quit meanwhile stores on its own.
                let (complete, recording) = info.hasPendingStore(of: loaded.fleet)
                    ? loaded.fleet.completedRecording() : (loaded.fleet.completed(), nil)
                q.post(.fleetCompleted(complete, searchIndex: FleetSearch.index(complete)))
                // One trim, after the store when one runs: a trim between the two handed back pages
                // the store faulted in again, and held each arena's lock while the UI thread drew.
                if let recording, let store = info.takePendingStore(of: loaded.fleet) {
                    store(recording)
                    MallocPolicy.trim()
                    UILog.logger.debug("resolved-fleet cache stored\(UILog.memory)")
                } else {
                    MallocPolicy.trim()
                }
            }
        case .loadHistoryLog(let id): deploys.loadLog(deployID: id)
        case .copyToClipboard(let text):
            // Runs on the loop's thread, between frames: the sequence moves no cursor.
            let seq = Array("\u{1B}]52;c;\(Data(text.utf8).base64EncodedString())\u{07}".utf8)
            seq.withUnsafeBytes { _ = write(STDOUT_FILENO, $0.baseAddress, $0.count) }
        }
    }
}

/// Opened once; `wait` returns when it is, or after `seconds`.
final class FirstFrameGate: Sendable {
    private let opened = Atomic<Bool>(false)
    private let signal = DispatchSemaphore(value: 0)

    func open() {
        if !opened.exchange(true, ordering: .acquiringAndReleasing) { signal.signal() }
    }

    var isOpen: Bool { opened.load(ordering: .acquiring) }

    func wait(seconds: Double) {
        guard !isOpen else { return }
        if signal.wait(timeout: .now() + seconds) == .success { signal.signal() }   // later waiters pass too
    }
}

/// Set by the inventory load's task, read by the vars load's; and the resolved-fleet cache store
/// the load deferred until the fleet is complete (or the UI quits), with the fleet it is for.
final class LoadedMachineNames: Sendable {
    typealias Store = @Sendable (AddressRecording?) -> Void
    /// The inventory's machine names; the `Set` is made by the first reader (the vars load, after
    /// the first frame), not by the load before it posts the inventory.
    private let names = Mutex<(inventory: Inventory?, set: Set<String>?)>((nil, nil))
    private let store = Mutex<(fleet: ResolvedFleet, run: Store)?>(nil)
    func set(_ inventory: Inventory, store pending: (ResolvedFleet, Store)?) {
        names.withLock { $0 = (inventory, nil) }
        store.withLock { $0 = pending }
    }
    func get() -> Set<String>? {
        names.withLock { n in
            if n.set == nil, let inv = n.inventory { n.set = Set(inv.machines.keys); n.inventory = nil }
            return n.set
        }
    }

    func hasPendingStore(of fleet: ResolvedFleet) -> Bool {
        store.withLock { $0?.fleet.isSameLoad(as: fleet) ?? false }
    }

    /// The pending store if it is for `fleet`'s load (taken: it runs once).
    func takePendingStore(of fleet: ResolvedFleet) -> Store? {
        store.withLock { s -> Store? in
            guard let p = s, p.fleet.isSameLoad(as: fleet) else { return nil }
            s = nil
            return p.run
        }
    }

    /// On quit: runs a pending store, reading the addresses it needs now (a quick quit still leaves
    /// a warm cache). A cache hit is left as it is (its completion re-stores if a file changed).
    func runPendingStore() {
        guard let p = store.withLock({ s -> (fleet: ResolvedFleet, run: Store)? in defer { s = nil }; return s }),
              !p.fleet.addressesCached else { return }
        if let recording = p.fleet.completedRecording().recording { p.run(recording) }
    }
}

/// The palette's command history, kept between runs in `$XDG_STATE_HOME/fleet/palette-history`.
enum PaletteHistoryStore {
    static var path: String { XDGDirectories.fleet(.state, "palette-history") }

    static func load() -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map(String.init).suffix(100)
    }

    static func save(_ lines: [String]) {
        let dir = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try? (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
}
