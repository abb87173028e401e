import ArgumentParser
import FleetModel
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `fleet secrets …`: mirrors `clan secrets` for `sops/secrets/<name>/` of a clan repository,
/// without a sops binary. Plaintext goes only to stdout (get) or comes only from stdin (set).
struct SecretsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets",
        abstract: "Manage clan sops secrets (sops/secrets/<name>) like `clan secrets`.",
        discussion: """
        The admin key comes from $SOPS_AGE_KEY, $SOPS_AGE_KEY_FILE or ~/.config/sops/age/keys.txt.

        Examples:
          fleet secrets list
          fleet secrets get tf-passphrase
          printf %s "$TOKEN" | fleet secrets set hetzner-api-token --machine web1
          fleet secrets users add alice age1…
        """,
        subcommands: [List.self, Get.self, SetValue.self, Users.self, Machines.self])

    /// Accepted before the subcommand too (`fleet secrets --repo P list`); leaves read it again.
    @OptionGroup var repo: RepoOption

    /// The clan, chosen like every fleet command: --flake/--inventory (--repo as an alias), else
    /// ./flake.nix, the config's `flake`, the demo. Its sops/ is in the clan directory (`clan.directory`).
    struct RepoOption: ParsableArguments {
        @OptionGroup var source: SourceOptions

        /// For reads.
        func store() async throws -> SopsKeyStore { SopsKeyStore(clanDirectory: try await source.varsRepository().clanDirectory) }

        /// For writes: the same, with the pristine demo refused.
        func writableStore() async throws -> SopsKeyStore {
            do { _ = try source.source().writableDirectory() } catch let e as InventorySourceError { throw CLIError("fleet secrets: \(e)") }
            return try await store()
        }
    }

    static func adminIdentities() throws -> [AgeIdentity] {
        try AdminKeys.load(environment: ProcessInfo.processInfo.environment)
    }

    /// clan commits every `clan secrets` write (`commit_files`: secrets.py:238, users.py:48,
    /// machines.py:41), since a flake build does not see untracked files; `CLAN_NO_COMMIT` only
    /// registers new paths. Outside a git work tree nothing is committed, as in clan.
    static func commit(_ repo: String, paths: [String], message: String) async throws {
        let git = ClanGit(directory: repo, runner: ProcessVarsRunner())
        guard let gitDir = try? await git.gitDirectory() else { return }
        let lock = try await FileLock.clan(gitDirectory: gitDir)
        defer { withExtendedLifetime(lock) {} }
        do { try await git.commit(paths: paths, message: message) } catch { throw CLIError("fleet secrets: \(error)") }
    }

    /// Runs `body`, turning model errors into one clear CLI error line.
    static func cli<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as CLIError { throw e } catch { throw CLIError("fleet secrets: \(error)") }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List secrets, optionally only those whose name contains PATTERN.",
            discussion: "Examples:\n  fleet secrets list\n  fleet secrets list age.key")
        @OptionGroup var repo: RepoOption
        @Argument(help: "Only names containing this text.") var pattern: String?

        func run() async throws {
            let store = try await repo.store()
            let names = try cli { try store.secrets() }.filter { pattern == nil || $0.contains(pattern!) }
            if !names.isEmpty { print(names.joined(separator: "\n")) }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a secret's value to stdout (raw bytes, no added newline).",
            discussion: "Examples:\n  fleet secrets get tf-passphrase\n  SOPS_AGE_KEY_FILE=~/keys.txt fleet secrets get hetzner-api-token")
        @OptionGroup var repo: RepoOption
        @Argument(help: "The secret name.") var name: String

        func run() async throws {
            let store = try await repo.store()
            var value = try cli {
                try store.readSecret(name, identities: try SecretsCommand.adminIdentities(),
                                     plugins: AdminKeys.pluginIdentities(environment: ProcessInfo.processInfo.environment))
            }
            defer { value.withUnsafeMutableBytes { raw in for i in raw.indices { raw[i] = 0 } } }
            FileHandle.standardOutput.write(Data(value))
        }
    }

    struct SetValue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Encrypt a value from stdin (or $SOPS_NIX_SECRET) to the secret's users, machines and groups.",
            discussion: "Examples:\n  printf %s \"$TOKEN\" | fleet secrets set hetzner-api-token\n  fleet secrets set new-secret --user crs58 --machine cinnabar < value.txt")
        @OptionGroup var repo: RepoOption
        @Argument(help: "The secret name.") var name: String
        @Option(name: .long, help: "Also encrypt to this user (repeatable).") var user: [String] = []
        @Option(name: .long, help: "Also encrypt to this machine (repeatable).") var machine: [String] = []
        @Option(name: .long, help: "Also encrypt to this group (repeatable).") var group: [String] = []

        func run() async throws {
            let store = try await repo.writableStore()
            var value = try Self.readValue()
            defer { value.withUnsafeMutableBytes { raw in for i in raw.indices { raw[i] = 0 } } }
            try cli {
                _ = try SecretsCommand.adminIdentities()
                // Who the admin is follows clan's key precedence (AdminKeys.publicKeys).
                let admin = try AdminKeys.publicKeys(environment: ProcessInfo.processInfo.environment).compactMap { try? AgeRecipient(parsing: $0) }
                try store.writeSecret(name, value: value, adminRecipients: admin,
                                      users: user, machines: machine, groups: group)
            }
            try await SecretsCommand.commit(store.clanDirectory, paths: ["sops/secrets/\(name)"], message: "secrets: update \(name)")
        }

        /// clan `set_command`: $SOPS_NIX_SECRET, else a hidden prompt on a terminal, else stdin.
        static func readValue() throws -> [UInt8] {
            if let env = ProcessInfo.processInfo.environment["SOPS_NIX_SECRET"], !env.isEmpty { return Array(env.utf8) }
            if isatty(0) != 0 && isatty(1) != 0 {
                guard let p = getpass("Paste your secret: ") else { throw CLIError("fleet secrets: no value entered") }
                return Array(String(cString: p).utf8)
            }
            return Array(FileHandle.standardInput.readDataToEndOfFile())
        }
    }

    struct Users: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List or add users (sops/users/<name>/key.json).",
                                                        subcommands: [UsersList.self, UsersAdd.self])
    }

    struct UsersList: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List users.", discussion: "Examples:\n  fleet secrets users list")
        @OptionGroup var repo: RepoOption
        func run() async throws { try await SecretsCommand.listKeys(.users, repo) }
    }

    struct UsersAdd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a user with an age public key.",
            discussion: "Examples:\n  fleet secrets users add alice age1…")
        @OptionGroup var repo: RepoOption
        @Argument(help: "The user name.") var name: String
        @Argument(help: "The user's age public key (age1…).") var key: String
        @Flag(name: .long, help: "Overwrite an existing key.") var force = false
        func run() async throws { try await SecretsCommand.addKey(.users, name, key, force: force, repo) }
    }

    struct Machines: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List or add machines (sops/machines/<name>/key.json).",
                                                        subcommands: [MachinesList.self, MachinesAdd.self])
    }

    struct MachinesList: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List machines.", discussion: "Examples:\n  fleet secrets machines list")
        @OptionGroup var repo: RepoOption
        func run() async throws { try await SecretsCommand.listKeys(.machines, repo) }
    }

    struct MachinesAdd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a machine with an age public key.",
            discussion: "Examples:\n  fleet secrets machines add galena age1…")
        @OptionGroup var repo: RepoOption
        @Argument(help: "The machine name.") var name: String
        @Argument(help: "The machine's age public key (age1…).") var key: String
        @Flag(name: .long, help: "Overwrite an existing key.") var force = false
        func run() async throws { try await SecretsCommand.addKey(.machines, name, key, force: force, repo) }
    }
}

extension SecretsCommand {
    /// Who holds an age key in `sops/<kind>/<name>/key.json`: `users` and `machines` list and add alike.
    enum KeyHolders: String {
        case users, machines
        var noun: String { self == .users ? "user" : "machine" }
    }

    /// `users list` / `machines list`: the names, one a line.
    static func listKeys(_ kind: KeyHolders, _ repo: RepoOption) async throws {
        let store = try await repo.store()
        let names = try cli { try kind == .users ? store.users() : store.machines() }.keys.sorted()
        if !names.isEmpty { print(names.joined(separator: "\n")) }
    }

    /// `users add` / `machines add`: writes the key, then — as clan — re-keys the secrets already
    /// shared with that name to the new key, and commits both.
    static func addKey(_ kind: KeyHolders, _ name: String, _ key: String, force: Bool, _ repo: RepoOption) async throws {
        let store = try await repo.writableStore()
        let updated = try cli {
            switch kind {
            case .users: try store.addUser(name, recipient: key, force: force)
            case .machines: try store.addMachine(name, recipient: key, force: force)
            }
            return try store.updateSecrets(referencing: kind.rawValue, name, identities: adminIdentities)
        }
        try await commit(store.clanDirectory, paths: ["sops/\(kind.rawValue)/\(name)"] + updated.map { "sops/secrets/\($0)" },
                         message: "secrets: add \(kind.noun) \(name)")
    }
}
