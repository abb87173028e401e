import ArgumentParser
import Foundation
import FleetModel

/// `fleet vars …`: clan's `vars` commands (clan-formats.md §2.7) over a clan directory.
struct VarsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vars",
        abstract: "Check, list, generate, rotate and fix clan vars (secrets and public values).",
        discussion: """
        Works on the clan of --flake/--inventory (--repo DIR is an alias), by default ./flake.nix, then \
        the config's `flake`, then the embedded demo — like every fleet command. In a flake the vars live \
        in clan's `clan.directory`; generator definitions are evaluated from it (or come from a directory \
        source's generators.json); without them `list` still shows everything on disk. Only clan's sops \
        vars backend is supported so far.
        The admin age key is found like clan and sops do: $SOPS_AGE_KEY, $SOPS_AGE_KEY_FILE, \
        ~/.config/sops/age/keys.txt.

        Examples:
          fleet vars check --repo inventory
          fleet vars check cinnabar -g openssh --json
          fleet vars list --json
          fleet vars get cinnabar openssh/ssh.id_ed25519.pub
          fleet vars generate galena
          fleet vars rotate -g openssh-ca
          fleet vars generate cinnabar --prompt-value user-password-root.user-password=@pw.txt
          fleet vars fix scheelite
        """,
        subcommands: [VarsCheckCommand.self, VarsListCommand.self, VarsGetCommand.self, VarsGenerateCommand.self,
                      VarsRotateCommand.self, VarsFixCommand.self, VarsMachineKeyCommand.self])
}

/// The source options (`--flake`/`--inventory`, `--repo` as an alias) of every `fleet vars` subcommand.
struct VarsRepoOptions: ParsableArguments {
    @OptionGroup var source: SourceOptions

    /// The clan (one `nix eval` for a flake): call once per command.
    func repository() async throws -> VarsRepository { try await source.varsRepository() }

    /// The generator definitions (generators.json, else the flake evaluated with nix); a clear error
    /// when there are none.
    static func catalog(_ r: VarsRepository) async throws -> GeneratorCatalog {
        do {
            if let c = try await r.loadCatalog() { return c }
        } catch { throw CLIError("fleet: \(error)") }
        throw CLIError("fleet: no generator definitions in \(r.clanDirectory) (expected generators.json or flake.nix); `fleet vars list` works without them")
    }

    /// The one unknown-machine check of every `vars` command: the fleet's machines, as `show` and
    /// `deploy` know them (a machine without generators is known, it just has no vars).
    static func checkMachines(_ names: [String], repo: VarsRepository, catalog: GeneratorCatalog) throws {
        try UsageFailure.checkMachines(names, known: (repo.inventoryMachines() ?? []).union(catalog.machineNames))
    }
}

struct VarsCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Report missing, outdated and unfixed vars like `clan vars check`; exit status 1 on problems.",
        discussion: """
        Examples:
          fleet vars check --repo inventory
          fleet vars check galena -g openssh-cert
          fleet vars check --json | python3 -m json.tool
        """)

    @OptionGroup var repoOptions: VarsRepoOptions
    @Argument(help: "Machines to check (default: all).") var machines: [String] = []
    @Option(name: [.short, .long], help: "Only this generator.") var generator: String?
    @Flag(help: "Print JSON: per machine the clan categories, a flat problem list and the full generator tree.") var json = false

    func run() async throws {
        let repo = try await repoOptions.repository()
        let catalog = try await VarsRepoOptions.catalog(repo)
        // Without machines: all of them, or with -g only those declaring the generator.
        let names = !machines.isEmpty ? machines
            : catalog.machineNames.filter { m in generator.map { g in catalog.generators(for: m).contains { $0.name == g } } ?? true }
        try VarsRepoOptions.checkMachines(names, repo: repo, catalog: catalog)
        // From the vars status index in the cache directory: unchanged files are stat-ed, not read.
        let admin = VarsCLISupport.adminRecipients()
        let run: (statuses: [MachineVarsStatus], keys: SopsKeyIndex, stats: VarsStatusIndex.Stats)
        do {
            run = try VarsStatusIndex(clanDirectory: repo.clanDirectory).run(names, catalog: catalog, generator: generator, adminRecipients: admin)
        } catch { throw CLIError("fleet: \(error)") }
        let results = run.statuses
        // The flake-level generators after the machines (for given machines: those deploying to one of
        // them), one block per export key in clan's report format (clan d7c35d9's `vars check` has
        // none: check.py:62).
        let checker = VarsStatusChecker(clanDirectory: repo.clanDirectory, catalog: catalog, keys: run.keys, adminRecipients: admin)
        let exports = checker.exportStatuses(generatorName: generator, receivedBy: machines.isEmpty ? nil : machines)
        if json {
            print(JSONWriter(indent: "  ").string(VarsJSON.check(results, exports: exports)))
        } else {
            for r in results + exports {
                let title = r.exportKey.map { "flake-level generators of export '\($0)'" } ?? "machine '\(r.machine)'"
                print("Check results for \(title): \n\(r.clanText)", terminator: r.hasProblems ? "" : "\n")
                let undecryptable = r.undecryptableVars.map(\.id)
                if !undecryptable.isEmpty {
                    print("Secret vars your key cannot decrypt (not a recipient):")
                    for u in undecryptable { print("  - \(u)") }
                }
            }
        }
        if (results + exports).contains(where: \.hasProblems) { throw ExitCode(1) }
    }
}

struct VarsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List vars: from disk (no definitions needed), or for one machine like `clan vars list`.",
        discussion: """
        Examples:
          fleet vars list
          fleet vars list cinnabar
          fleet vars list --json
        """)

    @OptionGroup var repoOptions: VarsRepoOptions
    @Argument(help: "A machine: print `<gen>/<file>: <value>` lines for its declared vars, like clan.") var machine: String?
    @Flag(help: "Print everything on disk as JSON: vars, recipients (with owners), orphans, unknown keys.") var json = false

    func run() async throws {
        let repo = try await repoOptions.repository()
        if let machine, !json {
            let catalog = try await VarsRepoOptions.catalog(repo)
            try VarsRepoOptions.checkMachines([machine], repo: repo, catalog: catalog)
            // Each declared file as clan's `Var.__str__` prints it (clan_lib/vars/var.py:79-88).
            var lines: [String] = []
            for g in catalog.generators(for: machine) {
                for f in g.files {
                    let dir = repo.clanDirectory + "/vars/\(g.id.relDir)/\(f.name)"
                    let value: String
                    if f.secret {
                        value = FileManager.default.fileExists(atPath: dir + "/secret") ? "********" : "<not set>"
                    } else if let d = FileManager.default.contents(atPath: dir + "/value") {
                        value = String(validating: Array(d), as: UTF8.self) ?? "<binary blob>"
                    } else {
                        value = "<not set>"
                    }
                    lines.append("\(g.name)/\(f.name): \(value)")
                }
            }
            // clan: `print("\n".join(sorted(str(var) for var in all_vars)))` (clan_cli/vars/list.py:12), i.e. whole
            // `<gen>/<file>: <value>` lines in code-point order (`ssh.id_ed25519.pub: …` before `ssh.id_ed25519: …`);
            // Swift's `<` on String compares canonical equivalents, so compare scalars as Python does.
            print(lines.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }.joined(separator: "\n"))
            return
        }
        let scan = VarsStatusIndex(clanDirectory: repo.clanDirectory).scan(inventoryMachines: repo.inventoryMachines()).scan
        if json {
            print(JSONWriter(indent: "  ").string(VarsJSON.scan(scan)))
            return
        }
        for e in scan.entries where machine == nil || e.machine == machine {
            let owners = e.recipients.map { $0.owners.isEmpty ? "unknown:" + String($0.key.publicKey.prefix(12)) + "…" : $0.owners.map(\.description).joined(separator: "|") }
            let flags = [e.orphan ? "orphan" : nil, e.drift ? "recipients-drift" : nil, e.error].compactMap { $0 }
            print("\(e.placement)\t\(e.id)\t\(e.kind.rawValue)\t\(owners.joined(separator: ","))\(flags.isEmpty ? "" : "\t" + flags.joined(separator: ","))")
        }
        if !scan.orphanMachines.isEmpty { print("orphaned machines (not in the inventory): \(scan.orphanMachines.joined(separator: ", "))") }
        if !scan.unknownKeys.isEmpty { print("recipient keys with no known owner: \(scan.unknownKeys.map(\.publicKey).joined(separator: ", "))") }
    }
}

struct VarsGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Print a var's value (secrets are decrypted with your admin key), like `clan vars get`.",
        discussion: """
        Examples:
          fleet vars get galena state-version/version
          SOPS_AGE_KEY_FILE=~/keys.txt fleet vars get galena tor_tor/hostname
        """)

    @OptionGroup var repoOptions: VarsRepoOptions
    @Argument(help: "The machine.") var machine: String
    @Argument(help: "The var, <generator>/<file> (a unique prefix is accepted).") var varID: String

    func run() async throws {
        let repo = try await repoOptions.repository()
        let catalog = try await VarsRepoOptions.catalog(repo)
        try VarsRepoOptions.checkMachines([machine], repo: repo, catalog: catalog)
        let dir = repo.clanDirectory
        let all = catalog.generators(for: machine).flatMap { g in g.files.map { (g, $0, "\(g.name)/\($0.name)") } }
        var match = all.filter { $0.2 == varID }
        if match.isEmpty {
            let prefixed = all.filter { $0.2.hasPrefix(varID) }
            if prefixed.count == 1 { throw CLIError("fleet: Couldn't find var: \(varID) for machine: \(machine). Did you mean: \(prefixed[0].2)") }
            match = []
        }
        guard let (gen, file, _) = match.first else { throw CLIError("fleet: Couldn't find var: \(varID) for machine: \(machine)") }
        let bytes: [UInt8]
        do {
            bytes = try VarsValueReader(clanDirectory: dir, backend: file.secret ? try VarsCLISupport.backend() : nil)
                .value(gen.id, file: file.name, secret: file.secret)
        } catch { throw CLIError("fleet: \(error)") }
        FileHandle.standardOutput.write(Data(bytes))
        if isatty(STDOUT_FILENO) == 1, bytes.last != 0x0A { print() }
    }
}

/// Options shared by generate and rotate.
struct VarsRunOptions: ParsableArguments {
    @Option(name: .customLong("prompt-value"),
            help: ArgumentHelp("Answer a prompt without asking: GEN.PROMPT=@FILE, or GEN.PROMPT=@- for stdin.", valueName: "GEN.PROMPT=@FILE"))
    var promptValues: [String] = []
    @Flag(help: "Only print what would run (generators in order, prompts, affected machines).") var dryRun = false
    @Flag(help: "Run generator scripts without a sandbox (clan's --no-sandbox), where no bwrap or sandbox-exec is available.")
    var noSandbox = false
}

struct VarsGenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate missing vars (with -r/--regenerate: re-run and rotate), like `clan vars generate`.",
        discussion: """
        Examples:
          fleet vars generate
          fleet vars generate electrum --dry-run
          fleet vars generate cinnabar -g user-password-root -r --prompt-value user-password-root.user-password=@pw.txt
        """)

    @OptionGroup var repoOptions: VarsRepoOptions
    @Argument(help: "Machines (default: all).") var machines: [String] = []
    @Option(name: [.short, .long], help: "Only this generator (it always runs, with everything that depends on it).") var generator: String?
    @Flag(name: [.short, .long], help: "Re-run generators whose vars exist, and ask persisted prompts again.") var regenerate = false
    @Option(name: .customLong("export"), help: ArgumentHelp("With -g: the flake-level generator of this export key.", valueName: "KEY"))
    var exportKey: String?
    @OptionGroup var runOptions: VarsRunOptions

    func run() async throws {
        if exportKey != nil && generator == nil { throw ValidationError("--export needs -g/--generator") }
        try await VarsCLISupport.generate(repo: try await repoOptions.repository(), machines: machines, generator: generator,
                                          regenerate: regenerate, exportKey: exportKey, runOptions: runOptions)
    }
}

struct VarsRotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Regenerate a generator and everything that depends on it (= generate --regenerate -g GEN).",
        discussion: """
        Examples:
          fleet vars rotate cinnabar -g openssh-ca
          fleet vars rotate -g zerotier-controller --dry-run
        """)

    @OptionGroup var repoOptions: VarsRepoOptions
    @Argument(help: "Machines whose generator to rotate (default: all that declare it).") var machines: [String] = []
    @Option(name: [.short, .long], help: "The generator to rotate.") var generator: String
    @Option(name: .customLong("export"), help: ArgumentHelp("The flake-level generator of this export key (names may repeat across exports).", valueName: "KEY"))
    var exportKey: String?
    @OptionGroup var runOptions: VarsRunOptions

    func run() async throws {
        let repo = try await repoOptions.repository()
        var ms = machines
        if exportKey != nil {
            try await VarsCLISupport.generate(repo: repo, machines: [], generator: generator, regenerate: true, exportKey: exportKey, runOptions: runOptions)
            return
        }
        if ms.isEmpty {
            let catalog = try await VarsRepoOptions.catalog(repo)
            ms = catalog.machineNames.filter { m in catalog.generators(for: m).contains { $0.name == generator } }
        }
        try await VarsCLISupport.generate(repo: repo, machines: ms, generator: generator, regenerate: true, runOptions: runOptions)
    }
}

struct VarsFixCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fix", abstract: "Re-encrypt secrets to their wanted recipients, like `clan vars fix`.",
        discussion: """
        Examples:
          fleet vars fix
          fleet vars fix scheelite
        """)

    @OptionGroup var repoOptions: VarsRepoOptions
    @Argument(help: "Machines (default: all).") var machines: [String] = []

    func run() async throws {
        let repo = try await repoOptions.repository()
        let catalog = try await VarsRepoOptions.catalog(repo)
        try VarsRepoOptions.checkMachines(machines, repo: repo, catalog: catalog)   // before anything needs a key
        let engine = try await VarsCLISupport.engine(repo, catalog: catalog)
        do {
            let fixed = try await engine.fix(machines: machines, events: VarsCLISupport.printEvent)
            if fixed.isEmpty { print("Nothing to fix.") }
        } catch { throw CLIError("fleet: \(error)") }
    }
}

struct VarsMachineKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "machine-key",
        abstract: "Create a machine's age key (sops/machines/<m>/key.json + sops/secrets/<m>-age.key) when missing.",
        discussion: """
        Examples:
          fleet vars machine-key argentum
        """)

    @OptionGroup var repoOptions: VarsRepoOptions
    @Argument(help: "The machine.") var machine: String

    func run() async throws {
        let repo = try await repoOptions.repository()
        let catalog = try await VarsRepoOptions.catalog(repo)
        try VarsRepoOptions.checkMachines([machine], repo: repo, catalog: catalog)   // before anything needs a key
        let engine = try await VarsCLISupport.engine(repo, catalog: catalog)
        do {
            if let key = try await engine.ensureMachineKey(machine) {
                print("created age key for \(machine): \(key.publicKey)")
            } else {
                print("\(machine) already has an age key")
            }
        } catch { throw CLIError("fleet: \(error)") }
    }
}
