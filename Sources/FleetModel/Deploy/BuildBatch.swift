import Foundation
import Synchronization

/// The NixOS machines of a run that one batch serves, and how its nix processes run. nil when
/// the builder is not a flake or fewer than two NixOS machines share it (a batch of one saves nothing).
struct FlakeBatch: Sendable {
    let flake: String
    let machines: [String]
    let runner: ProcessRunner
    let environment: [String: String]?
    let timeout: Duration

    init?(flake builder: SystemBuilder, machines: [Machine], runner: ProcessRunner, environment: [String: String]?, timeout: Duration) {
        guard case .flake(let ref) = builder else { return nil }
        let names = machines.filter { $0.machineClass == .nixos }.map(\.name)
        guard names.count > 1 else { return nil }
        self.flake = ref
        self.machines = names
        self.runner = runner
        self.environment = environment
        self.timeout = timeout
    }

    /// `{ "tb1" = "/nix/store/…"; … }`: the toplevel's `attribute` (`outPath`, `drvPath`) of every
    /// machine in one evaluation.
    static func evalArgv(flake: String, machines: [String], attribute: String) -> [String] {
        let list = machines.map(nixString).joined(separator: " ")
        return SystemBuilder.nix + ["eval", "--flake-registry", "", "--json", "\(flake)#nixosConfigurations", "--apply",
                                    "cs: builtins.mapAttrs (n: c: c.config.system.build.toplevel.\(attribute)) "
                                    + "(builtins.intersectAttrs (builtins.listToAttrs (map (n: { name = n; value = null; }) [ \(list) ])) cs)"]
    }

    /// A nix string literal.
    static func nixString(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "${", with: "\\${") + "\""
    }

    /// Machine name → the evaluated `attribute`; nil when the evaluation failed.
    func evaluate(_ attribute: String) async throws -> [String: String]? {
        let r = try await runner.run(ProcessSpec(argv: Self.evalArgv(flake: flake, machines: machines, attribute: attribute),
                                                 environment: environment, timeout: timeout))
        guard r.succeeded, let o = (try? JSONParser.parse(r.stdout))?.objectValue else { return nil }
        var out: [String: String] = [:]
        for (k, v) in o { if let p = v.stringValue { out[k] = p } }
        return out
    }
}

/// One evaluation and one `nix build` for all NixOS machines of a run built from the same flake
/// (colmena builds every node in one go too), instead of one nix process per host: on a laptop
/// deploying many machines the evaluations are what costs. Hosts wait on the shared result and all
/// see its progress. If the batch fails, each host builds on its own and gets its own error.
final class BuildBatch: Sendable {
    private let spec: FlakeBatch
    private struct Shared {
        var task: Task<[String: String]?, Never>?
        var listeners: [String: StageContext] = [:]
    }
    private let shared = Mutex(Shared())

    init?(flake builder: SystemBuilder, machines: [Machine], runner: ProcessRunner, environment: [String: String]?, timeout: Duration) {
        guard let spec = FlakeBatch(flake: builder, machines: machines, runner: runner, environment: environment, timeout: timeout) else { return nil }
        self.spec = spec
    }

    func covers(_ machine: Machine) -> Bool { machine.machineClass == .nixos && spec.machines.contains(machine.name) }

    /// The machine's toplevel, or nil when the batch failed (the host then builds alone).
    func outPath(for machine: String, _ ctx: StageContext) async -> String? {
        let t: Task<[String: String]?, Never> = shared.withLock { s in
            s.listeners[machine] = ctx
            if let task = s.task { return task }
            let t = Task { await self.run() }
            s.task = t
            return t
        }
        let result = await withTaskCancellationHandler { await t.value } onCancel: { t.cancel() }
        shared.withLock { _ = $0.listeners.removeValue(forKey: machine) }
        return result?[machine]
    }

    func cancel() { shared.withLock { $0.task }?.cancel() }

    private func each(_ f: (StageContext) -> Void) {
        for ctx in shared.withLock({ Array($0.listeners.values) }) { f(ctx) }
    }

    /// `--max-jobs auto`: one process builds every machine, so it must build them side by side (the
    /// default is 1, which per-host processes get away with).
    static func buildArgv(flake: String, machines: [String]) -> [String] {
        SystemBuilder.nix + ["build", "--flake-registry", "", "--no-link", "--json", "--keep-going", "--max-jobs", "auto",
                             "--log-format", "internal-json", "-v"]
            + machines.map { "\(flake)#\(SystemBuilder.attribute(machine: $0, machineClass: .nixos))" }
    }

    private func run() async -> [String: String]? {
        let (flake, machines) = (spec.flake, spec.machines)
        do {
            guard let paths = try await spec.evaluate("outPath"), paths.count == machines.count else { return nil }
            each { $0.log("building \(machines.count) systems in one nix build: \(machines.joined(separator: " "))") }
            let state = NixProgressBox()
            let build = try await spec.runner.stream(ProcessSpec(argv: Self.buildArgv(flake: flake, machines: machines),
                                                                 environment: spec.environment, timeout: spec.timeout),
                                                     onStdoutLine: { _ in }, onStderrLine: { line in
                let (lines, changed, p) = state.consume(line)
                self.each { ctx in
                    for l in lines { ctx.log(l) }
                    if changed { ctx.progress(p.buildFraction, p.buildSummary) }
                }
            })
            guard build.succeeded, let built = try? JSONParser.parse(build.stdout), let arr = built.arrayValue else { return nil }
            let outs = Set(arr.compactMap { $0["outputs"]?["out"]?.stringValue })
            return paths.values.allSatisfy(outs.contains) ? paths : nil
        } catch {
            return nil
        }
    }
}

/// One evaluation of the store derivations of every NixOS machine of the run that builds
/// elsewhere (on its target or a build host), instead of one `nix eval` per host: each evaluation
/// of a `path:` flake copies and hashes the whole flake first. A host whose machine is missing
/// from the result (the batch failed) evaluates alone and gets its own error.
final class DerivationBatch: Sendable {
    private let spec: FlakeBatch
    private let task = Mutex<Task<[String: String]?, Never>?>(nil)

    init?(flake builder: SystemBuilder, machines: [Machine], runner: ProcessRunner, environment: [String: String]?, timeout: Duration) {
        guard let spec = FlakeBatch(flake: builder, machines: machines, runner: runner, environment: environment, timeout: timeout) else { return nil }
        self.spec = spec
    }

    /// The machine's `.drv`, or nil (evaluate alone).
    func drvPath(for machine: String) async -> String? {
        guard spec.machines.contains(machine) else { return nil }
        let t: Task<[String: String]?, Never> = task.withLock { current in
            if let current { return current }
            let spec = self.spec
            let t = Task { (try? await spec.evaluate("drvPath")) ?? nil }
            current = t
            return t
        }
        return await t.value?[machine]
    }
}
