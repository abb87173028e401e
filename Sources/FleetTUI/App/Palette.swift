/// The `:` command palette: an input line, completions for the word being typed, and history.
public struct PaletteState: Equatable, Sendable {
    public var input: String = ""
    public var completions: [String] = []
    public var selected = 0
    /// Position in the history while browsing with up/down; nil when editing fresh input.
    public var historyIndex: Int?
    public var error: String?
    /// Tab already extended the word as far as the candidates agree: the next tab takes the selected one.
    public var listed = false
}

/// A parsed palette command.
public enum PaletteCommand: Equatable, Sendable {
    case quit
    case deploy(targets: [String])
    case rollback(targets: [String])
    case retry
    case dryRun(targets: [String])
    case varsGenerate(machine: String?)
    case varsRotate(generator: String, machine: String?)
    case varsFix(machine: String?)
    case theme(String)
    case tab(Tab)
    case filter(String)
    case mark(targets: [String])
    case clearMarks
    case reload
    case help
}

/// What completion can offer, taken from the state.
public struct PaletteContext: Sendable {
    public var machines: [String]
    public var tags: [String]
    public var generators: [String]
    public var themes: [String]

    public init(machines: [String] = [], tags: [String] = [], generators: [String] = [], themes: [String] = []) {
        self.machines = machines
        self.tags = tags
        self.generators = generators
        self.themes = themes
    }
}

public enum Palette {
    public static let commands = ["deploy", "dry-run", "rollback", "retry", "vars", "theme", "tab", "filter", "mark", "unmark", "reload", "help", "quit", "q"]
    static let varsVerbs = ["generate", "rotate", "fix"]

    public static func parse(_ line: String) -> Result<PaletteCommand, PaletteError> {
        let words = line.split(separator: " ").map(String.init)
        guard let head = words.first else { return .failure(PaletteError("empty command")) }
        let args = Array(words.dropFirst())
        switch head {
        case "q", "quit", "q!": return .success(.quit)
        case "deploy": return .success(.deploy(targets: args))
        case "rollback": return .success(.rollback(targets: args))
        case "retry": return .success(.retry)
        case "dry-run", "dryrun": return .success(.dryRun(targets: args))
        case "vars":
            guard let verb = args.first else { return .failure(PaletteError("vars: expected generate, rotate or fix")) }
            switch verb {
            case "generate": return .success(.varsGenerate(machine: args.dropFirst().first))
            case "rotate", "regenerate":
                guard args.count >= 2 else { return .failure(PaletteError("vars rotate: expected a generator name")) }
                return .success(.varsRotate(generator: args[1], machine: args.count > 2 ? args[2] : nil))
            case "fix": return .success(.varsFix(machine: args.dropFirst().first))
            default: return .failure(PaletteError("vars: unknown action '\(verb)' (generate, rotate, fix)"))
            }
        case "theme":
            guard let name = args.first else { return .failure(PaletteError("theme: expected a theme name")) }
            return .success(.theme(name))
        case "tab":
            guard let n = args.first, let t = Tab.named(n) else { return .failure(PaletteError("tab: expected a screen name")) }
            return .success(.tab(t))
        case "filter": return .success(.filter(args.joined(separator: " ")))
        case "mark":
            guard !args.isEmpty else { return .failure(PaletteError("mark: expected machines or @tags")) }
            return .success(.mark(targets: args))
        case "unmark": return .success(.clearMarks)
        case "reload": return .success(.reload)
        case "help": return .success(.help)
        default:
            if let t = Tab.named(head), args.isEmpty { return .success(.tab(t)) }
            return .failure(PaletteError("unknown command '\(head)'"))
        }
    }

    /// Candidates for the last word of `line` (the whole word each, not just the rest).
    public static func completions(for line: String, context: PaletteContext) -> [String] {
        var words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let endsWithSpace = line.hasSuffix(" ") || line.isEmpty
        let prefix = endsWithSpace ? "" : (words.popLast() ?? "")
        let position = words.count
        let candidates: [String]
        if position == 0 {
            candidates = commands + Tab.allCases.map { $0.title.lowercased() }
        } else {
            switch words[0] {
            case "deploy", "mark", "rollback", "dry-run": candidates = context.machines + context.tags.map { "@" + $0 }
            case "theme": candidates = position == 1 ? context.themes : []
            case "tab": candidates = position == 1 ? Tab.allCases.map { $0.title.lowercased() } : []
            case "vars":
                if position == 1 { candidates = varsVerbs }
                else if position == 2, words[1] == "rotate" { candidates = context.generators }
                else { candidates = context.machines }
            default: candidates = []
            }
        }
        var seen = Set<String>()
        return candidates.filter { $0.hasPrefix(prefix) && seen.insert($0).inserted }
    }

    /// The longest prefix every candidate shares.
    public static func commonPrefix(_ candidates: [String]) -> String {
        guard var p = candidates.first else { return "" }
        for c in candidates.dropFirst() { while !c.hasPrefix(p) { p.removeLast() } }
        return p
    }

    /// `line` with its last word replaced by `completion`, followed by a space.
    public static func apply(_ completion: String, to line: String) -> String {
        if line.isEmpty || line.hasSuffix(" ") { return line + completion + " " }
        var words = line.split(separator: " ").map(String.init)
        words.removeLast()
        return (words + [completion]).joined(separator: " ") + " "
    }

    /// Expands machine names and `@tag`s to machine names, in fleet order.
    public static func resolveTargets(_ targets: [String], machines: [(name: String, tags: [String])]) -> Result<[String], PaletteError> {
        var wanted = Set<String>()
        for t in targets {
            if t.hasPrefix("@") {
                let tag = String(t.dropFirst())
                let hits = machines.filter { $0.tags.contains(tag) }.map(\.name)
                if hits.isEmpty { return .failure(PaletteError("no machine has tag '\(tag)'")) }
                wanted.formUnion(hits)
            } else {
                guard machines.contains(where: { $0.name == t }) else { return .failure(PaletteError("no machine named '\(t)'")) }
                wanted.insert(t)
            }
        }
        return .success(machines.map(\.name).filter { wanted.contains($0) })
    }
}

public struct PaletteError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
