import Collections
import Foundation

/// Generator definitions of a clan flake, evaluated per machine with `nix eval` (metadata only,
/// clan-formats.md §2.5), and the generator scripts built on demand (`finalScript`).
public struct FlakeGenerators: Sendable {
    public let flake: String
    public let runner: VarsCommandRunner
    /// nix 2.8 needs flakes enabled explicitly.
    public var nixArgs: [String] = ["--extra-experimental-features", "nix-command flakes"]

    public init(flake: String, runner: VarsCommandRunner) {
        self.flake = flake
        self.runner = runner
    }

    static let applyMetadata = """
        c: {
          defaultGroups = c.clan.core.sops.defaultGroups or [];
          generators = builtins.mapAttrs (_: g: {
            inherit (g) share dependencies validationHash;
            prompts = builtins.mapAttrs (_: p: { inherit (p) description type persist; }) g.prompts;
            files = builtins.mapAttrs (_: f: { inherit (f) secret deploy owner group mode neededFor; }) g.files;
          }) (c.clan.core.vars.generators or {});
        }
        """

    func machineAttr(_ machine: String, system: String) -> String {
        "\(flake)#clanInternals.machines.\(system).\"\(machine)\".config"
    }

    /// The local nix system (`x86_64-linux`), which clan's CLI evaluates machines with.
    public static var localSystem: String {
        #if arch(arm64)
        let cpu = "aarch64"
        #else
        let cpu = "x86_64"
        #endif
        #if os(macOS)
        return cpu + "-darwin"
        #else
        return cpu + "-linux"
        #endif
    }

    /// Every machine of the flake, evaluated for the local system (as clan does), then its generators.
    public func load(system: String = FlakeGenerators.localSystem) async throws -> GeneratorCatalog {
        let r = try await runner.run(argv: ["nix", "eval", "--json"] + nixArgs + ["\(flake)#clanInternals.machines.\(system)", "--apply", "builtins.attrNames"],
                                     environment: nil, workingDirectory: nil, onLine: nil)
        guard r.status == 0, let names = (try? JSONParser.parse(r.stdout))?.arrayValue?.compactMap(\.stringValue) else {
            throw VarsError(flake, "cannot list clanInternals.machines.\(system): \(r.stderr.split(separator: "\n").suffix(5).joined(separator: "\n"))")
        }
        return try await load(machines: names.map { ($0, system) })
    }

    /// Evaluates every machine (name → nix system) and builds the catalog; errors name the machine.
    public func load(machines: [(name: String, system: String)]) async throws -> GeneratorCatalog {
        var doc = OrderedDictionary<String, JSONValue>()
        for (m, sys) in machines {
            let r = try await runner.run(argv: ["nix", "eval", "--json"] + nixArgs + [machineAttr(m, system: sys), "--apply", Self.applyMetadata],
                                         environment: nil, workingDirectory: nil, onLine: nil)
            guard r.status == 0 else {
                throw VarsError("\(flake) machine \(m)", "nix eval failed: \(r.stderr.split(separator: "\n").suffix(5).joined(separator: "\n"))")
            }
            do { doc[m] = try JSONParser.parse(r.stdout) } catch { throw VarsError("\(flake) machine \(m)", "nix eval printed invalid JSON: \(error)") }
        }
        return try GeneratorsFile(path: flake).parse(.object(["version": JSONValue(1), "machines": .object(doc)]))
    }

    /// A script provider for `VarsEngine`: builds the generator's `finalScript` and runs it.
    public func scriptProvider(systems: [String: String]) -> VarsEngine.ScriptProvider {
        let flake = self
        return { gen, machine in
            if let key = gen.id.exportKey {
                // A flake-level generator: clan's `ExportsFinalScript` (clan_lib/vars/generator.py:67-80).
                let attr = "\(flake.flake)#clanInternals.systems.\(FlakeGenerators.localSystem).exports.\"\(key)\".generators.\"\(gen.name)\".finalScript"
                return try await flake.build(attr, generator: gen)
            }
            guard let sys = systems[machine] else { throw VarsError(flake.flake, "no nix system known for machine \(machine)") }
            return try await flake.build(flake.machineAttr(machine, system: sys) + ".clan.core.vars.generators.\"\(gen.name)\".finalScript", generator: gen)
        }
    }

    /// Builds a `finalScript` attribute. clan runs `bash -c <finalScript>` (generator.py:692-698):
    /// the store path is the command; the script sets PATH from the generator's runtimeInputs itself.
    /// bwrap binds /nix read-only.
    func build(_ attr: String, generator gen: Generator) async throws -> String {
        let r = try await runner.run(argv: ["nix", "build", "--no-link", "--json"] + nixArgs + [attr],
                                     environment: nil, workingDirectory: nil, onLine: nil)
        guard r.status == 0, let out = (try? JSONParser.parse(r.stdout))?.arrayValue?.first?["outputs"]?["out"]?.stringValue else {
            throw VarsError("generator \(gen.id)", "cannot build finalScript: \(r.stderr.split(separator: "\n").suffix(5).joined(separator: "\n"))")
        }
        return out
    }
}
