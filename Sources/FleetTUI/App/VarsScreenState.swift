import FleetModel

/// One line of the Vars tree: a machine (or shared/orphans section), a generator, or a file.
public struct VarsRow: Equatable, Sendable {
    public enum Level: Int, Sendable { case section = 0, generator = 1, file = 2 }
    public enum Status: Equatable, Sendable { case ok, missing, unfixed, outdated, undecryptable, orphan, info }

    public var level: Level
    public var text: String
    public var status: Status
    public var statusText: String
    /// Recipients, owner/mode, neededFor — shown in the info line for the selected row.
    public var detail: String
    /// A public value, shown inline; secret values are never here (only on an explicit reveal).
    public var publicValue: String?
    public var machine: String?
    public var generator: GeneratorID?
    public var file: String?
    public var isSecret: Bool
}

/// A machine's vars health as the Fleet screen's SECRETS column shows it.
public struct VarsHealthSummary: Equatable, Sendable {
    public var summary: String
    public var ok: Bool
}

/// What the Vars screen shows, computed off the UI thread from files alone.
public struct VarsData: Equatable, Sendable {
    public var rows: [VarsRow]
    /// Per machine, the Fleet table's secrets column text and whether it is healthy.
    public var health: [String: VarsHealthSummary]
    public var hasDefinitions: Bool
    /// The widest health summary: the Fleet table's SECRETS column is that wide, never cut.
    public var longestHealth: Int

    public init(rows: [VarsRow], health: [String: VarsHealthSummary], hasDefinitions: Bool) {
        self.rows = rows
        self.health = health
        self.hasDefinitions = hasDefinitions
        longestHealth = health.values.map { DisplayWidth.of($0.summary) }.max() ?? 0
    }
}

/// A running or finished generate/rotate/fix, with its live output.
public struct VarsJob: Equatable, Sendable {
    public var title: String
    public var lines: [String] = []
    public var running = true
    public var ok: Bool?
    public var affectedMachines: [String] = []
}

/// The masked input for a generator prompt. Hidden prompts are drawn as bullets only.
public struct VarsPromptState: Equatable, Sendable {
    public var title: String
    public var question: String
    public var kind: PromptDefinition.Kind
    public var input: String = ""
    /// A running deploy asked (sudo password, a vars prompt before the deploy): the answer goes
    /// to it (`Effect.deployAnswer`), not to a vars job.
    public var answersDeploy = false
}

/// What the user asked the vars engine to plan.
public struct VarsIntent: Equatable, Sendable {
    public enum Kind: String, Sendable { case generate, rotate }
    public var kind: Kind
    public var machine: String?
    public var generator: String?
    /// Several machines at once (when `machine` is nil); empty means every machine.
    public var machines: [String] = []
    /// `generator` is the flake-level generator of this export key.
    public var exportKey: String? = nil
}
