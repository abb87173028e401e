import Collections
import Foundation

/// Edits `inventory.json` the way clan's `InventoryStore.write` does (clan-formats.md §1.6): only
/// what the user set, key order kept, Python's `json.dump(indent=2)` spelling with no trailing
/// newline; under `flock` on `.git/clan.lock`; then `git add` and
/// `git commit -m "inventory.json: …" --no-verify inventory.json`, skipped when nothing changed.
/// `CLAN_NO_COMMIT=1` only `git add --intent-to-add`s the file, as clan does.
public struct InventoryWriter: Sendable {
    public struct Outcome: Equatable, Sendable {
        /// The file's bytes changed.
        public var changed: Bool
        /// A commit was made.
        public var committed: Bool
        public var message: String
    }

    /// The clan directory holding `inventory.json` (the flake root).
    public let directory: String
    public var runner: ProcessRunner
    /// Environment for git and the CLAN_NO_COMMIT switch; nil means ours.
    public var environment: [String: String]?

    public init(directory: String, runner: ProcessRunner = ProcessRunner(), environment: [String: String]? = nil) {
        self.directory = directory
        self.runner = runner
        self.environment = environment
    }

    public var file: String { directory + "/inventory.json" }

    /// Tags clan computes for every machine; they cannot be set or removed.
    public static let computedTags: Set<String> = ["all", "nixos", "darwin"]

    /// Adds `tag` to `machine`. `evaluated` (the current inventory) lets us refuse unknown machines and
    /// skip tags the machine already has from Nix.
    public func addTag(_ tag: String, to machine: String, evaluated: Inventory? = nil) async throws -> Outcome {
        try validate(tag: tag, machine: machine, evaluated: evaluated)
        return try await edit(message: "inventory.json: add tag \(tag) to machine \(machine)") { root in
            var tags = try currentTags(root, machine: machine) ?? []
            if tags.contains(tag) { return false }
            if evaluated?.machines[machine]?.tags.contains(tag) == true { return false }
            tags.append(tag)
            setTags(&root, machine: machine, tags: tags)
            return true
        }
    }

    /// Removes `tag` from `machine`'s tags in `inventory.json`. A tag that only Nix sets cannot be
    /// removed here (clan reports such list members as read-only).
    public func removeTag(_ tag: String, from machine: String, evaluated: Inventory? = nil) async throws -> Outcome {
        try validate(tag: tag, machine: machine, evaluated: evaluated)
        return try await edit(message: "inventory.json: remove tag \(tag) from machine \(machine)") { root in
            var tags = try currentTags(root, machine: machine) ?? []
            guard let i = tags.firstIndex(of: tag) else {
                if evaluated?.machines[machine]?.tags.contains(tag) == true {
                    throw InventoryError(file: file, path: "machines.\(machine).tags",
                                         message: "tag \"\(tag)\" is set in Nix, not in inventory.json; remove it from the Nix code")
                }
                return false
            }
            tags.remove(at: i)
            setTags(&root, machine: machine, tags: tags)
            return true
        }
    }

    /// clan's `run_inventory_migrations` (clan_lib/persist/migrations/services.py), run by
    /// `clan machines update` before anything is evaluated: an empty `services` key written by clan
    /// ≤ 25.11 is removed (clan-core 26.05 no longer has the option, so evaluating it fails) and
    /// committed; a non-empty one must be moved to `instances` by hand (clan's error and guide).
    public func migrateServices() async throws -> Outcome {
        guard FileManager.default.fileExists(atPath: file) else {
            return Outcome(changed: false, committed: false, message: Self.migrationMessage)
        }
        return try await edit(message: Self.migrationMessage) { root in
            guard case .object(var top) = root, let services = top["services"] else { return false }
            // Python truthiness (`if services:`): only an empty value is removed.
            let empty = services.isNull || services.objectValue?.isEmpty == true || services.arrayValue?.isEmpty == true
                || services.stringValue?.isEmpty == true || services.boolValue == false
            guard empty else {
                throw InventoryError(file: file, path: "services", message: """
                    Your inventory.json contains a non-empty 'services' key from a previous clan version. \
                    The 'services' option has been removed. Use 'instances' instead. See: \
                    https://clan.lol/docs/guides/migrations/migrate-inventory-services — migrate your services \
                    to instances and remove the 'services' key from inventory.json, then re-run this command.
                    """)
            }
            top.removeValue(forKey: "services")
            root = .object(top)
            return true
        }
    }

    static let migrationMessage = "inventory.json: remove stale keys from previous clan version"

    private func validate(tag: String, machine: String, evaluated: Inventory?) throws {
        // clan's allowed characters (NameValidation): no whitespace, '/', '..', shell or control characters.
        do { try NameValidation.validate(machine, as: .machine) } catch let e as NameError {
            throw InventoryError(file: file, path: "machines", message: e.description)
        }
        do { try NameValidation.validate(tag, as: .tag) } catch let e as NameError {
            throw InventoryError(file: file, path: "machines.\(machine).tags", message: e.description)
        }
        if Self.computedTags.contains(tag) {
            throw InventoryError(file: file, path: "machines.\(machine).tags",
                                 message: "\"\(tag)\" is computed by clan for every machine and cannot be edited")
        }
        if let evaluated, evaluated.machines[machine] == nil {
            throw InventoryError(file: file, path: "machines", message: "no machine named \"\(machine)\"")
        }
    }

    private func currentTags(_ root: JSONValue, machine: String) throws -> [String]? {
        guard let t = root["machines"]?[machine]?["tags"], !t.isNull else { return nil }
        guard let arr = t.arrayValue else {
            throw InventoryError(file: file, path: "machines.\(machine).tags", message: "expected array, found \(t.typeName)")
        }
        return try arr.enumerated().map { i, v in
            guard let s = v.stringValue else {
                throw InventoryError(file: file, path: "machines.\(machine).tags[\(i)]", message: "expected string, found \(v.typeName)")
            }
            return s
        }
    }

    /// Sets `machines.<m>.tags`, creating the parents at the end of their objects (insertion order,
    /// as Python dicts keep it).
    private func setTags(_ root: inout JSONValue, machine: String, tags: [String]) {
        guard case .object(var top) = root else { return }
        var machines = top["machines"]?.objectValue ?? [:]
        var entry = machines[machine]?.objectValue ?? [:]
        entry["tags"] = .array(tags.map { .string($0) })
        machines[machine] = .object(entry)
        top["machines"] = .object(machines)
        root = .object(top)
    }

    private func edit(message: String, _ change: (inout JSONValue) throws -> Bool) async throws -> Outcome {
        let gitDir = try await self.gitDir()
        var lock: FileLock?
        if let gitDir { lock = try await FileLock.clan(gitDirectory: gitDir) }
        defer { withExtendedLifetime(lock) {} }
        removeStaleTemporaries()
        if let gitDir { GitStaleLocks.remove(gitDirectory: gitDir) }

        var root: JSONValue = .object([:])
        if let data = FileManager.default.contents(atPath: file) {
            do { root = try JSONParser.parse(Array(data)) } catch let e as JSONSyntaxError {
                throw InventoryError(file: file, path: "", message: "invalid JSON at \(e)")
            }
            guard root.objectValue != nil else {
                throw InventoryError(file: file, path: "", message: "expected object, found \(root.typeName)")
            }
        }
        guard try change(&root) else { return Outcome(changed: false, committed: false, message: message) }
        try write(root)
        guard gitDir != nil else { return Outcome(changed: true, committed: false, message: message) }

        let env = environment ?? ProcessInfo.processInfo.environment
        // clan: `bool(os.environ.get("CLAN_NO_COMMIT"))` — any non-empty value (clan_lib/git/__init__.py:78).
        if !(env["CLAN_NO_COMMIT"] ?? "").isEmpty {
            try await git(["add", "--intent-to-add", "inventory.json"])
            return Outcome(changed: true, committed: false, message: message)
        }
        try await git(["add", "inventory.json"])
        let diff = try await git(["diff", "--cached", "--quiet", "--exit-code", "--", "inventory.json"], allowFailure: true)
        guard diff.status != 0 else { return Outcome(changed: true, committed: false, message: message) }
        try await git(["commit", "-m", message, "--no-verify", "inventory.json"])
        return Outcome(changed: true, committed: true, message: message)
    }

    /// `json.dump(obj, f, indent=2)`: no trailing newline. Written to a temporary file and renamed,
    /// so a reader never sees half a file.
    private func write(_ root: JSONValue) throws {
        let text = JSONWriter.python2.string(root)
        let tmp = file + ".fleet-tmp-\(getpid())"
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: tmp))
            if let attrs = try? FileManager.default.attributesOfItem(atPath: file), let perms = attrs[.posixPermissions] {
                try? FileManager.default.setAttributes([.posixPermissions: perms], ofItemAtPath: tmp)
            }
            guard rename(tmp, file) == 0 else { throw CocoaError(.fileWriteUnknown) }
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            throw InventoryError(file: file, path: "", message: "cannot write: \(error.localizedDescription)")
        }
    }

    /// A writer killed between writing its temporary and renaming it leaves `inventory.json.fleet-tmp-PID`
    /// behind (untracked junk a `git add -A` would commit). Remove those whose process is gone; a live
    /// one belongs to a writer that holds no lock (no git repo) and is left alone.
    private func removeStaleTemporaries() {
        let prefix = "inventory.json.fleet-tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), pid > 0 else { continue }
            if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(atPath: directory + "/" + name)
            }
        }
    }

    /// The git directory of the clan repo, or nil when it is not a git work tree (then: no lock, no commit).
    private func gitDir() async throws -> String? {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory + "/.git", isDirectory: &isDir), isDir.boolValue {
            return directory + "/.git"
        }
        guard FileManager.default.fileExists(atPath: directory + "/.git") else { return nil }
        // A linked work tree: `.git` is a file; the lock lives in the common git dir.
        let r = try await git(["rev-parse", "--path-format=absolute", "--git-common-dir"], allowFailure: true)
        let d = r.stdoutString.trimmingCharacters(in: .whitespacesAndNewlines)
        return r.status == 0 && !d.isEmpty ? d : nil
    }

    @discardableResult
    private func git(_ args: [String], allowFailure: Bool = false) async throws -> ProcessResult {
        let r = try await runner.run(ProcessSpec(argv: ["git", "-C", directory] + args, environment: environment, timeout: .seconds(120)))
        if !allowFailure && r.status != 0 {
            throw InventoryError(file: file, path: "", message: "git \(args.first ?? "") failed: \(r.stderrString.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return r
    }
}
