/// Where a generator's output lives: `vars/shared/<gen>`, `vars/per-machine/<m>/<gen>` or, for a
/// flake-level generator, `vars/per-export/<exportKey>/<gen>`. Mirrors clan's `GeneratorId(name,
/// placement)` with its three placements `Shared | PerMachine | PerExport` (clan_lib/vars/_types.py:
/// 22-87): two generators are the same when name and placement are equal, which is how shared
/// generators are de-duplicated.
public struct GeneratorID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let name: String
    /// The declaring machine of a per-machine generator; nil for shared and flake-level ones.
    public let machine: String?
    /// The export key of a flake-level ("per-export") generator (`clan.exports."<key>".generators`).
    public let exportKey: String?

    public init(name: String, machine: String?, exportKey: String? = nil) {
        self.name = name
        self.machine = machine
        self.exportKey = exportKey
    }

    public static func shared(_ name: String) -> GeneratorID { GeneratorID(name: name, machine: nil) }
    public static func perMachine(_ name: String, _ machine: String) -> GeneratorID { GeneratorID(name: name, machine: machine) }
    public static func perExport(_ name: String, _ exportKey: String) -> GeneratorID { GeneratorID(name: name, machine: nil, exportKey: exportKey) }

    public var isShared: Bool { machine == nil && exportKey == nil }
    public var isExport: Bool { exportKey != nil }

    /// Path under `vars/`, e.g. `per-machine/cinnabar/openssh`, `shared/openssh-ca`,
    /// `per-export/api:::/token`.
    public var relDir: String {
        if let machine { return "per-machine/\(machine)/\(name)" }
        if let exportKey { return "per-export/\(exportKey)/\(name)" }
        return "shared/\(name)"
    }

    /// clan's log prefix / placement text: `shared`, `machine: m` or `export: key`.
    public var placementText: String {
        if let machine { return "machine: \(machine)" }
        if let exportKey { return "export: \(exportKey)" }
        return "shared"
    }

    public var description: String { "\(name) (\(placementText))" }

    /// clan sorts by (placement key, name): "" for shared, the machine, or the export key.
    public static func < (a: GeneratorID, b: GeneratorID) -> Bool {
        let ka = a.machine ?? a.exportKey ?? "", kb = b.machine ?? b.exportKey ?? ""
        return ka != kb ? ka < kb : a.name < b.name
    }
}

/// `clan.core.vars.generators.<gen>.prompts.<p>` (clan-formats.md §2.1).
public struct PromptDefinition: Equatable, Sendable {
    public enum Kind: String, Equatable, Sendable, CaseIterable {
        case hidden, line, multiline
        case multilineHidden = "multiline-hidden"

        /// Hidden prompts must never be echoed (clan asks twice for confirmation on a terminal).
        public var isHidden: Bool { self == .hidden || self == .multilineHidden }
        public var isMultiline: Bool { self == .multiline || self == .multilineHidden }
    }

    public var name: String
    public var description: String
    public var kind: Kind
    /// `persist = true`: the answer is stored as secret file `<name>` and reused next time.
    public var persist: Bool

    public init(name: String, description: String? = nil, kind: Kind = .line, persist: Bool = false) {
        self.name = name
        self.description = description ?? name
        self.kind = kind
        self.persist = persist
    }
}

/// `clan.core.vars.generators.<gen>.files.<f>` with clan's defaults.
public struct VarFileDefinition: Equatable, Sendable {
    public enum NeededFor: String, Equatable, Sendable, CaseIterable {
        case partitioning, activation, users, services
    }

    public var name: String
    public var secret: Bool
    public var deploy: Bool
    public var owner: String
    public var group: String
    public var mode: String
    public var neededFor: NeededFor
    /// A flake-level generator's file: the machines it is deployed to (`files.<f>.deploy`, a list
    /// there — clan_lib/vars/generate.py:411-413); nil for a machine's generator, whose `deploy` is a bool.
    public var deployTo: [String]?

    public init(name: String, secret: Bool = true, deploy: Bool = true, owner: String = "root",
                group: String = "root", mode: String = "0400", neededFor: NeededFor = .services, deployTo: [String]? = nil) {
        self.deployTo = deployTo
        self.name = name
        self.secret = secret
        self.deploy = deploy
        self.owner = owner
        self.group = group
        self.mode = mode
        self.neededFor = neededFor
    }
}

/// One generator as a machine declares it: the metadata clan reads with its selectors (§2.5) plus,
/// for the directory source, the script text that a flake would build into `finalScript`.
public struct GeneratorDefinition: Equatable, Sendable {
    public var name: String
    public var share: Bool
    public var dependencies: [String]
    /// Ordered by name, as `nix eval` orders attribute sets.
    public var prompts: [PromptDefinition]
    public var files: [VarFileDefinition]
    /// `builtins.hashString "sha256" (builtins.toJSON validation)`, nil when `validation` is null.
    public var validationHash: String?
    /// The bash script (`$in`, `$out`, `$prompts`); nil when only metadata is known (flake source).
    public var script: String?

    public init(name: String, share: Bool = false, dependencies: [String] = [], prompts: [PromptDefinition] = [],
                files: [VarFileDefinition] = [], validationHash: String? = nil, script: String? = nil) {
        self.name = name
        self.share = share
        self.dependencies = dependencies
        self.prompts = prompts
        self.files = files
        self.validationHash = validationHash
        self.script = script
    }

    public func file(_ name: String) -> VarFileDefinition? { files.first { $0.name == name } }

    /// The fields clan compares between machines declaring the same shared generator
    /// (files, prompts, dependencies, validationHash — owner/group/mode ignored). Returns the names
    /// of the fields that differ, for `Machines A and B have different definitions … (differ in: …)`.
    public func sharedDefinitionDifferences(_ other: GeneratorDefinition) -> [String] {
        var out: [String] = []
        func fileKey(_ f: VarFileDefinition) -> String { "\(f.name)|\(f.secret)|\(f.deploy)|\(f.neededFor.rawValue)" }
        if files.map(fileKey) != other.files.map(fileKey) { out.append("files") }
        if prompts != other.prompts { out.append("prompts") }
        if dependencies.sorted() != other.dependencies.sorted() { out.append("dependencies") }
        if validationHash != other.validationHash { out.append("validationHash") }
        return out
    }
}
