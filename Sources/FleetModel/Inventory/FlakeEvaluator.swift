import Foundation

/// Why a flake could not be read.
public enum InventoryLoadError: Error, CustomStringConvertible, Sendable {
    case nixMissing(flake: String)
    /// nix ran and failed; `message` is what nix printed on stderr.
    case evaluationFailed(flake: String, status: Int32, message: String)
    case evaluationTimedOut(flake: String)

    public var description: String {
        switch self {
        case .nixMissing(let f):
            return "\(f): reading a clan flake needs `nix`, which is not on PATH (install nix, or use --inventory DIR)"
        case .evaluationFailed(let f, let status, let message):
            let msg = message.trimmingCharacters(in: .whitespacesAndNewlines)
            return "\(f): nix eval of clanInternals.inventoryClass.inventorySerialization failed (exit \(status))"
                + (msg.isEmpty ? "" : ":\n" + msg)
        case .evaluationTimedOut(let f):
            return "\(f): nix eval of the inventory timed out"
        }
    }
}

/// Runs `nix eval --json <flake>#clanInternals.inventoryClass.inventorySerialization`
/// (clan-formats.md §1.3, the plain-Nix equivalent of the CLI's selector) through `ProcessRunner`.
public struct FlakeEvaluator: Sendable {
    public static let attribute = "clanInternals.inventoryClass.inventorySerialization"

    public var runner: ProcessRunner
    /// Environment for nix; nil inherits ours.
    public var environment: [String: String]?
    public var timeout: Duration?

    public init(runner: ProcessRunner = ProcessRunner(), environment: [String: String]? = nil, timeout: Duration? = .seconds(600)) {
        self.runner = runner
        self.environment = environment
        self.timeout = timeout
    }

    /// The flake reference nix gets for `flake`: local directories as absolute paths.
    public static func flakeRef(_ flake: String) -> String {
        if let dir = localDirectory(flake) { return dir }
        return flake
    }

    /// The directory of a local flake reference (`.`, `/a/b`, `path:/a/b`, `git+file:///a/b`), else nil.
    public static func localDirectory(_ flake: String) -> String? {
        var p = flake
        for prefix in ["path:", "git+file://", "file://"] where p.hasPrefix(prefix) { p = String(p.dropFirst(prefix.count)) }
        if let q = p.firstIndex(of: "?") { p = String(p[..<q]) }
        if p.contains(":") { return nil }  // github:…, https:… and other remote schemes
        let url = URL(fileURLWithPath: p, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        return url.standardizedFileURL.path
    }

    public func evaluateJSON(_ flake: String) async throws -> [UInt8] {
        let argv = ["nix", "--extra-experimental-features", "nix-command flakes",
                    "eval", "--json", "\(Self.flakeRef(flake))#\(Self.attribute)"]
        let result: ProcessResult
        do {
            result = try await runner.run(ProcessSpec(argv: argv, environment: environment, timeout: timeout))
        } catch ProcessError.notFound {
            throw InventoryLoadError.nixMissing(flake: flake)
        }
        if result.timedOut { throw InventoryLoadError.evaluationTimedOut(flake: flake) }
        guard result.status == 0 else {
            throw InventoryLoadError.evaluationFailed(flake: flake, status: result.status, message: Self.tail(result.stderrString))
        }
        return result.stdout
    }

    public func evaluate(_ flake: String) async throws -> Inventory {
        let bytes = try await evaluateJSON(flake)
        return try Self.decode(bytes, flake: flake)
    }

    static func decode(_ bytes: [UInt8], flake: String) throws -> Inventory {
        var inv = try InventoryDecoder(file: "\(flake)#\(attribute)").decode(bytes: bytes)
        inv.clanDirectory = localDirectory(flake)
        return inv
    }

    /// nix's own message, without an endless trace: the last 60 lines.
    static func tail(_ s: String) -> String {
        let lines = s.split(separator: "\n", omittingEmptySubsequences: false)
        return lines.suffix(60).joined(separator: "\n")
    }
}
