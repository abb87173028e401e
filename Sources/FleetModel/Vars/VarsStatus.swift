import Foundation

/// What is wrong with one declared var file, with clan's rules (clan_lib/vars/check.py `vars_status`,
/// clan-formats.md §2.6). nil in `VarFileStatus.problem` means OK.
public enum VarProblem: Equatable, Sendable {
    /// `vars/<rel>/<f>/secret` is absent.
    case missingSecret
    /// A shared, deployed secret exists but the machine's key is not among its recipients (or the
    /// machine has no key). clan reports it among the missing secret vars.
    case missingAccess(machine: String)
    /// `vars/<rel>/<f>/value` is absent.
    case missingPublic
    /// The recipients in the secret differ from the wanted ones (the keys behind the symlinks plus the
    /// machine's defaultGroups): `added` are wanted but missing from the file, `extra` are in the file
    /// but no longer wanted.
    case unfixed(added: [SopsKeyRef], extra: [SopsKeyRef])
    /// The secret file exists but is not a readable sops file (clan would fail on it).
    case unreadable(String)

    public var kind: String {
        switch self {
        case .missingSecret: return "missing-secret"
        case .missingAccess: return "missing-access"
        case .missingPublic: return "missing-public"
        case .unfixed: return "unfixed"
        case .unreadable: return "unreadable"
        }
    }
}

/// One recipient of a secret with the names its key is registered under.
public struct RecipientInfo: Equatable, Sendable {
    public let key: SopsKeyRef
    public let owners: [KeyOwner]
}

public struct VarFileStatus: Equatable, Sendable {
    public let generator: GeneratorID
    public let file: VarFileDefinition
    public let problem: VarProblem?
    /// Current recipients of the secret (empty for public or missing files).
    public let recipients: [RecipientInfo]
    /// Whether one of the admin keys given to the check is a recipient; nil when unknown (public file,
    /// missing file, or no admin key given). `false` is "undecryptable with your key".
    public let adminCanDecrypt: Bool?
    /// A public file's `value` bytes, when the checker collects them (`collectValues`, the Vars screen).
    public var value: [UInt8]? = nil

    /// clan's var id, `gen/file`.
    public var id: String { "\(generator.name)/\(file.name)" }
    public var path: String { "vars/\(generator.relDir)/\(file.name)" }
}

public struct GeneratorStatus: Equatable, Sendable {
    public let id: GeneratorID
    /// The machine whose view this is (shared generators are checked per declaring machine).
    public let machine: String
    public let files: [VarFileStatus]
    public let storedValidationHash: String?
    public let wantedValidationHash: String?

    /// clan's `hash_is_valid`: valid when both are null or they are equal.
    public var validationOK: Bool { storedValidationHash == wantedValidationHash }
    public var isOK: Bool { validationOK && files.allSatisfy { $0.problem == nil } }
}

/// clan's `VarStatus` for one machine — or, with `exportKey` set, for the flake-level generators of
/// one export key (`machine` then holds the key too).
public struct MachineVarsStatus: Equatable, Sendable {
    public let machine: String
    public let generators: [GeneratorStatus]
    public var exportKey: String? = nil

    private var allFiles: [VarFileStatus] { generators.flatMap(\.files) }
    public var missingSecretVars: [VarFileStatus] {
        allFiles.filter { if case .missingSecret = $0.problem { return true }; if case .missingAccess = $0.problem { return true }; return false }
    }
    public var missingPublicVars: [VarFileStatus] { allFiles.filter { $0.problem == .missingPublic } }
    public var unfixedSecretVars: [VarFileStatus] {
        allFiles.filter { if case .unfixed = $0.problem { return true }; if case .unreadable = $0.problem { return true }; return false }
    }
    public var invalidGenerators: [String] { generators.filter { !$0.validationOK }.map(\.id.name) }
    /// Secrets the given admin keys cannot open (not a clan category; shown after clan's).
    public var undecryptableVars: [VarFileStatus] { allFiles.filter { $0.adminCanDecrypt == false } }

    /// Any of clan's four categories non-empty: every `VarProblem` falls in one of them, so this is "a
    /// file has a problem or a validation hash differs" (without building the lists: 10k machines).
    public var hasProblems: Bool { generators.contains { !$0.isOK } }

    /// `VarStatus.text()`, byte for byte.
    public var clanText: String {
        var log = ""
        func section(_ title: String, _ items: [String]) {
            guard !items.isEmpty else { return }
            log += "\(title)\n"
            for i in items { log += "  - \(i)\n" }
        }
        section("Missing secret vars:", missingSecretVars.map(\.id))
        section("Missing public vars:", missingPublicVars.map(\.id))
        section("Unfixed secret vars:", unfixedSecretVars.map(\.id))
        section("Invalid generators (outdated invalidation hash):", invalidGenerators)
        return log.isEmpty ? "All vars are present and valid." : log
    }
}

/// Computes status from files alone: file presence, `.validation-hash`, symlinks, key.json files and
/// the recipient list inside each secret. Nothing is decrypted. Reads go through a `VarsFactReader`
/// (plain syscalls; with `VarsStatusIndex`, answers from the index for unchanged files).
public struct VarsStatusChecker {
    public let clanDirectory: String
    public let catalog: GeneratorCatalog
    public let keys: SopsKeyIndex
    /// Public keys of the admin identities in use; nil when unknown.
    public let adminRecipients: Set<SopsKeyRef>?
    let reader: VarsFactReader
    private let memo = Memo()
    /// Also read each public file's bytes (`VarFileStatus.value`; from the index when unchanged) —
    /// the Vars screen shows them; `vars check` does not.
    public var collectValues = false

    /// What this checker derived once and reuses (it is one thread's, like its reader): results that
    /// depend only on facts with equal index keys are equal.
    private final class Memo {
        /// Per recipients fact (its index key): the recipients with their owners, and whether an admin
        /// key is among them.
        var recipients: [UInt64: (infos: [RecipientInfo], adminOK: Bool?)] = [:]
        /// Per (recipients fact, linked key set): the problem (nil: none) of a secret whose machine has
        /// no default groups.
        var problems: [Pair: VarProblem?] = [:]
        /// Per default group: the keys behind `sops/groups/<g>`'s links.
        var groupKeys: [String: Set<SopsKeyRef>] = [:]

        struct Pair: Hashable {
            var recipients: UInt64
            var linked: Int
        }
    }

    public init(clanDirectory: String, catalog: GeneratorCatalog, keys: SopsKeyIndex? = nil, adminRecipients: Set<SopsKeyRef>? = nil) {
        self.init(reader: VarsFactReader(root: clanDirectory), catalog: catalog, keys: keys, adminRecipients: adminRecipients)
    }

    init(reader: VarsFactReader, catalog: GeneratorCatalog, keys: SopsKeyIndex? = nil, adminRecipients: Set<SopsKeyRef>? = nil) {
        self.clanDirectory = reader.root
        self.catalog = catalog
        self.reader = reader
        self.keys = keys ?? SopsKeyIndex(reader: reader)
        self.adminRecipients = adminRecipients
    }

    /// Status of `machine`'s generators, optionally only `generatorName` (clan errors if absent).
    public func status(machine: String, generatorName: String? = nil) throws -> MachineVarsStatus {
        // clan_lib/vars/check.py:63 walks `get_machine_generators`, i.e. the machine's generators in
        // Nix attribute order (by name), shared or not — so the report lists them in that order too.
        var gens = catalog.statusGenerators(for: machine)
        if let generatorName {
            gens = gens.filter { $0.id.name == generatorName }
            if gens.isEmpty { throw VarsError("", "Generator '\(generatorName)' not found in machine \(machine)") }
        }
        reader.enterMachine(machine)
        return MachineVarsStatus(machine: machine, generators: gens.map { status(id: $0.id, definition: $0.definition, machine: machine) })
    }

    /// The flake-level generators, one status per export key (sorted), optionally only those named
    /// `generatorName`, or (with `receivedBy`) only those deploying a file to one of those machines.
    /// clan d7c35d9's `vars check` does not look at them (check.py:62 walks
    /// `get_machine_generators` only); fleet applies the same rules: a secret's wanted recipients are
    /// its links plus the defaultGroups of the first machine in its `deploy` list (sops.py `_set`).
    public func exportStatuses(generatorName: String? = nil, receivedBy machines: [String]? = nil) -> [MachineVarsStatus] {
        let gens = catalog.flakeLevelGenerators.filter { g in
            (generatorName.map { $0 == g.name } ?? true) && (machines.map { !Set(g.machines).isDisjoint(with: $0) } ?? true)
        }
        let byKey = Dictionary(grouping: gens, by: { $0.id.exportKey ?? "" })
        return byKey.keys.sorted().map { key in
            MachineVarsStatus(machine: key, generators: (byKey[key] ?? []).map { g in
                status(of: g, machine: "")
            }, exportKey: key)
        }
    }

    public func status(of gen: Generator, machine: String) -> GeneratorStatus {
        status(id: gen.id, definition: gen.definition, machine: machine)
    }

    func status(id: GeneratorID, definition: GeneratorDefinition, machine: String) -> GeneratorStatus {
        // Paths are built on the reader's cursor (`vars/<relDir>/<file>/…`), not as strings.
        reader.setCursor(generatorDir: id)
        let genLength = reader.cursorLength
        var files: [VarFileStatus] = []
        files.reserveCapacity(definition.files.count)
        for f in definition.files {
            reader.truncateCursor(genLength)
            reader.appendCursor("/"); reader.appendCursor(f.name)
            let dirLength = reader.cursorLength
            var problem: VarProblem?
            var recipients: [RecipientInfo] = []
            var adminOK: Bool?
            var value: [UInt8]?
            if f.secret {
                reader.appendCursor("/secret")
                let (result, recipientsKey) = reader.secretRecipientsAtCursor()
                reader.truncateCursor(dirLength)
                switch result {
                case nil:
                    problem = .missingSecret
                case .failure(let error):
                    problem = .unreadable("\(error)")
                case .success(let sorted):
                    // `sorted`: the file's recipients, sorted and unique (a set, without hashing them again).
                    (recipients, adminOK) = recipientInfos(sorted, key: recipientsKey)
                    if id.isShared && f.deploy && !sorted.contains(where: (keys.machines[machine] ?? []).contains) {
                        problem = .missingAccess(machine: machine)
                    } else {
                        // A flake-level file's groups are its first deploy machine's.
                        let groupMachine = f.deployTo.map { $0.first ?? "" } ?? machine
                        let (linked, linkedID) = reader.linkedKeysAtCursor()
                        let groups = catalog.groups(for: groupMachine)
                        if groups.isEmpty, let recipientsKey, let linkedID {
                            let pair = Memo.Pair(recipients: recipientsKey, linked: linkedID)
                            if let p = memo.problems[pair] {
                                problem = p
                            } else {
                                problem = Self.drift(sorted, wanted: linked)
                                memo.problems[pair] = problem
                            }
                        } else {
                            var wanted = linked
                            for g in groups { wanted.formUnion(groupKeys(g)) }
                            problem = Self.drift(sorted, wanted: wanted)
                        }
                    }
                }
            } else {
                reader.appendCursor("/value")
                if collectValues {
                    // Absent is missing; present but unreadable (or a directory) is there, without bytes.
                    switch reader.contentsAtCursor() {
                    case nil: problem = .missingPublic
                    case .some(let bytes): value = bytes
                    }
                } else if !reader.existsAtCursor() {
                    problem = .missingPublic
                }
            }
            files.append(VarFileStatus(generator: id, file: f, problem: problem, recipients: recipients, adminCanDecrypt: adminOK,
                                       value: value))
        }
        reader.truncateCursor(genLength)
        reader.appendCursor("/.validation-hash")
        return GeneratorStatus(id: id, machine: machine, files: files,
                               storedValidationHash: reader.validationHashAtCursor(),
                               wantedValidationHash: definition.validationHash)
    }

    /// `.unfixed` when the recipients (`sorted`, unique) differ from `wanted`, else nil.
    private static func drift(_ sorted: [SopsKeyRef], wanted: Set<SopsKeyRef>) -> VarProblem? {
        guard wanted.count != sorted.count || !sorted.allSatisfy(wanted.contains) else { return nil }
        let current = Set(sorted)
        return .unfixed(added: wanted.subtracting(current).sorted(), extra: current.subtracting(wanted).sorted())
    }

    /// The recipients with their owners and whether an admin key is among them; memoised per index key.
    private func recipientInfos(_ sorted: [SopsKeyRef], key: UInt64?) -> (infos: [RecipientInfo], adminOK: Bool?) {
        if let key, let m = memo.recipients[key] { return m }
        let infos = sorted.map { RecipientInfo(key: $0, owners: keys.owners(of: $0)) }
        let adminOK = adminRecipients.map { admin in sorted.contains(where: admin.contains) }
        if let key { memo.recipients[key] = (infos, adminOK) }
        return (infos, adminOK)
    }

    /// The keys behind a default group's links (`sops/groups/<g>`), once per checker.
    private func groupKeys(_ group: String) -> Set<SopsKeyRef> {
        if let k = memo.groupKeys[group] { return k }
        let k = linkedKeys("sops/groups/" + group)
        memo.groupKeys[group] = k
        return k
    }

    /// clan's `collect_keys_for_secret`: the keys behind the secret's links plus the machine's defaultGroups.
    public func wantedRecipients(secretDir: String, machine: String) -> Set<SopsKeyRef> {
        wantedRecipients(relativeSecretDir: reader.relative(secretDir), machine: machine)
    }

    func wantedRecipients(relativeSecretDir dir: String, machine: String) -> Set<SopsKeyRef> {
        var wanted = linkedKeys(dir)
        for g in catalog.groups(for: machine) { wanted.formUnion(groupKeys(g)) }
        return wanted
    }

    /// The keys behind `machines/*`, `users/*` and `groups/*/{machines,users}/*` (clan's rules:
    /// `VarsFactReader.forEachLink`).
    func linkedKeys(_ dir: String) -> Set<SopsKeyRef> { reader.linkedKeys(inSecretDir: dir) }

    /// `.validation-hash` read with `.strip()`, nil when absent.
    public static func readValidationHash(_ generatorDir: String) -> String? {
        guard let d = FileManager.default.contents(atPath: generatorDir + "/.validation-hash") else { return nil }
        return stripValidationHash(Array(d))
    }

    static func stripValidationHash(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
