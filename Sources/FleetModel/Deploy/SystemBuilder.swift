import Foundation

/// How the toplevel of a machine is built, locally: from a flake (clan's command line,
/// clan-formats.md §3.1 step 6, spelled for nix 2.8, which has no `--print-out-paths`: `--json`
/// gives `[{"outputs":{"out":…}}]`) or from a plain nix expression taking `machine` (the testbed's
/// `system.nix`).
public enum SystemBuilder: Sendable, Equatable {
    /// A flake reference (`/path`, `path:/path`, `git+file:…`).
    case flake(String)
    /// `nix-build FILE --argstr machine M EXTRA…`, where EXTRA are more `--arg`/`--argstr` triples.
    case expression(file: String, extraArguments: [String])

    static let nix = ["nix", "--extra-experimental-features", "nix-command flakes", "--option", "warn-dirty", "false"]

    /// The flake attribute of the machine's toplevel.
    public static func attribute(machine: String, machineClass: Machine.Class) -> String {
        let configs = machineClass == .darwin ? "darwinConfigurations" : "nixosConfigurations"
        return "\(configs).\"\(machine)\".config.system.build.toplevel"
    }

    /// Builds and prints JSON on stdout, internal-json log on stderr. `options` are clan's nix
    /// options plus the user's `--option K V` (`DeployOptions.buildNixOptions`); nix-build takes
    /// only the `--option` pairs and `--show-trace` of them.
    public func buildArgv(machine: String, machineClass: Machine.Class, options: [String] = []) -> [String] {
        switch self {
        case .flake(let ref):
            return Self.nix + ["build", "--flake-registry", "", "--no-link", "--json", "--log-format", "internal-json", "-v",
                               "\(ref)#\(Self.attribute(machine: machine, machineClass: machineClass))"] + options
        case .expression(let file, let extra):
            return ["nix-build", file, "--no-out-link", "--log-format", "internal-json", "-v", "--argstr", "machine", machine] + extra
                + Self.legacyOptions(options)
        }
    }

    /// The options nix-build understands: `--show-trace` and `--option K V`.
    static func legacyOptions(_ options: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < options.count {
            if options[i] == "--option", i + 2 < options.count {
                out += options[i...(i + 2)]
                i += 3
                continue
            }
            if options[i] == "--show-trace" { out.append(options[i]) }
            i += 1
        }
        return out
    }

    /// The store derivation of the toplevel, evaluated here (stdout: the .drv path). A build on the
    /// target or a build host copies its closure there and builds it with that host's nix.
    public func drvPathArgv(machine: String, machineClass: Machine.Class) -> [String] {
        switch self {
        case .flake(let ref):
            return Self.nix + ["eval", "--flake-registry", "", "--raw",
                               "\(ref)#\(Self.attribute(machine: machine, machineClass: machineClass)).drvPath"]
        case .expression(let file, let extra):
            return Self.nix + ["eval", "--raw", "-f", file, "--argstr", "machine", machine] + extra + ["drvPath"]
        }
    }

    /// Builds a store derivation on the host this argv runs on (the target or a build host), with
    /// its own nix: JSON on stdout, internal-json log on stderr (folded into progress like a local build).
    public static func remoteBuildArgv(drvPath: String, options: [String]) -> [String] {
        nix + ["build", "--no-link", "--json", "--log-format", "internal-json", "-v"] + options + [drvPath]
    }

    /// `nix flake metadata --json REF`: `.path` is the flake's source in the store (what clan
    /// uploads to a remote builder and hands to darwin-rebuild).
    public static func flakeMetadataArgv(_ ref: String) -> [String] {
        nix + ["flake", "metadata", "--json", ref]
    }

    /// The flake reference, when this builder builds from a flake.
    public var flakeReference: String? {
        if case .flake(let ref) = self { return ref }
        return nil
    }

    /// Evaluates the output path without building (dry run, status probes); prints it on stdout.
    public func outPathArgv(machine: String, machineClass: Machine.Class) -> [String] {
        switch self {
        case .flake(let ref):
            return Self.nix + ["eval", "--flake-registry", "", "--raw",
                               "\(ref)#\(Self.attribute(machine: machine, machineClass: machineClass)).outPath"]
        case .expression(let file, let extra):
            return Self.nix + ["eval", "--raw", "-f", file, "--argstr", "machine", machine] + extra + ["outPath"]
        }
    }

    /// What would be built (`--dry-run`), messages on stderr.
    public func dryRunArgv(machine: String, machineClass: Machine.Class) -> [String] {
        switch self {
        case .flake(let ref):
            return Self.nix + ["build", "--flake-registry", "", "--no-link", "--dry-run", "--log-format", "internal-json", "-v",
                               "\(ref)#\(Self.attribute(machine: machine, machineClass: machineClass))"]
        case .expression(let file, let extra):
            return ["nix-build", file, "--no-out-link", "--dry-run", "--log-format", "internal-json", "-v", "--argstr", "machine", machine] + extra
        }
    }

    /// The store path from the build's stdout: nix build `--json`, or nix-build's last line.
    public static func outPath(fromBuildOutput stdout: String) -> String? {
        if let json = try? JSONParser.parse(stdout), let first = json.arrayValue?.first,
           let out = first["outputs"]?["out"]?.stringValue {
            return out
        }
        return stdout.split(whereSeparator: \.isNewline).last { $0.hasPrefix("/nix/store/") }.map(String.init)
    }

    /// nix-instantiate --json prints a JSON string; nix eval --raw the bare path.
    public static func outPath(fromEvalOutput stdout: String) -> String? {
        let t = stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        if t.hasPrefix("\""), let v = try? JSONParser.parse(t), let s = v.stringValue { return s }
        return t.hasPrefix("/nix/store/") ? t : nil
    }
}
