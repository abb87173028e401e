import FleetModel
import Foundation

/// Performs effects off the UI thread and posts their results back as events.
final class EffectRunner {
    private let queue: EventQueue

    /// Where the fleet comes from (tag edits and reloads go back to it).
    var source: InventorySource

    private let vars: VarsEffects
    private let deploys: DeployEffects

    init(queue: EventQueue, source: InventorySource, deploySettings: DeploySettings = DeploySettings()) {
        self.queue = queue
        self.source = source
        vars = VarsEffects(queue: queue, source: source)
        deploys = DeployEffects(queue: queue, source: source, settings: deploySettings)
    }

    /// Ends background work that owns processes (probes' ssh masters, a running deploy).
    func shutdown() { deploys.shutdown() }

    func perform(_ effect: Effect) {
        switch effect {
        case .loadInventory(let source):
            let q = queue
            Task.detached {
                // A flake yields a cached or offline result first, then the evaluated one.
                do {
                    for try await snap in InventoryLoader(source: source).updates() {
                        q.post(.inventoryLoaded(ResolvedFleet(snap.inventory), revalidating: snap.isRevalidating))
                    }
                } catch {
                    q.post(.inventoryFailed(String(describing: error)))
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
                    for try await snap in InventoryLoader(source: source).updates() {
                        q.post(.inventoryLoaded(ResolvedFleet(snap.inventory), revalidating: snap.isRevalidating))
                    }
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
            deploys.resolveConfigTargets(loaded.fleet)
        case .loadHistoryLog(let id): deploys.loadLog(deployID: id)
        case .copyToClipboard(let text):
            // Runs on the loop's thread, between frames: the sequence moves no cursor.
            let seq = Array("\u{1B}]52;c;\(Data(text.utf8).base64EncodedString())\u{07}".utf8)
            seq.withUnsafeBytes { _ = write(STDOUT_FILENO, $0.baseAddress, $0.count) }
        }
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
