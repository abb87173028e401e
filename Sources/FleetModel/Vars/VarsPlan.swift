/// A prompt to ask before generating (clan asks every prompt up front).
public struct PromptRequest: Sendable, Equatable {
    public let generator: GeneratorID
    public let prompt: PromptDefinition
    /// The machines the generator belongs to, for "Prompting value for g/p for machines: a, b".
    public let machines: [String]

    /// clan's question: the description, or `Enter the value for <gen>/<prompt>:`.
    public var text: String {
        prompt.description != prompt.name ? prompt.description : "Enter the value for \(generator.name)/\(prompt.name):"
    }
}

/// What a generate / regenerate would do, for confirmation screens: the generators in run order,
/// the prompts to ask, and the machines whose configuration changes (to offer a deploy).
public struct VarsPlan: Sendable, Equatable {
    public let generators: [GeneratorID]
    public let requestedMachines: [String]
    public let regenerate: Bool
    public let prompts: [PromptRequest]
    /// Persisted prompts whose stored answer will be reused instead of asking.
    public let reusedPrompts: [PromptRequest]
    /// Every machine declaring a generator of the plan, sorted.
    public let affectedMachines: [String]

    public var isEmpty: Bool { generators.isEmpty }
}

/// Progress of a run, for the CLI log and the TUI's live output.
public enum VarsEvent: Sendable, Equatable {
    case generatorStarted(GeneratorID, index: Int, total: Int)
    /// A line the generator script printed.
    case output(GeneratorID, line: String, isStderr: Bool)
    /// A clan-style log line, prefixed `[machine]` or `[shared]`.
    case log(String)
    case committed(GeneratorID, message: String)
    case generatorFinished(GeneratorID)
}
