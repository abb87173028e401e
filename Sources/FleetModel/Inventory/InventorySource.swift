import Foundation

/// Where the fleet comes from: a clan flake, a plain directory, or the embedded demo.
public enum InventorySource: Equatable, Sendable {
    case flake(path: String)
    case directory(path: String)
    case demo(path: String)

    public var isDemo: Bool { if case .demo = self { return true } else { return false } }

    public var path: String {
        switch self {
        case .flake(let p), .directory(let p), .demo(let p): return p
        }
    }

    /// Which fleet this is, for keeping deploy history apart per fleet: the absolute directory of a
    /// local flake or inventory, else the flake reference as given.
    public var fleetKey: String {
        switch self {
        case .flake(let f):
            guard let dir = FlakeEvaluator.localDirectory(f) else { return f }
            return Self.absolute(dir)
        case .directory(let p), .demo(let p):
            return Self.absolute(p)
        }
    }

    private static func absolute(_ p: String) -> String {
        let abs = p.hasPrefix("/") ? p : FileManager.default.currentDirectoryPath + "/" + p
        return URL(fileURLWithPath: abs).standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// The demo fleet shipped in this repository's `inventory/`. `FLEET_DEMO_DIR` overrides; otherwise
    /// it is found relative to this source file, which `make demo` and the tests run from.
    public static func demoDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let d = environment["FLEET_DEMO_DIR"], !d.isEmpty { return d }
        let here = URL(fileURLWithPath: #filePath)
        return here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("inventory").path
    }

    /// Picks the source the way the CLI documents: `--flake`, then `--inventory`, then `./flake.nix`,
    /// else the demo.
    public static func resolve(flake: String?, inventory: String?, cwd: String, environment: [String: String]) -> InventorySource {
        if let flake { return .flake(path: flake) }
        if let inventory { return .directory(path: inventory) }
        if FileManager.default.fileExists(atPath: cwd + "/flake.nix") { return .flake(path: cwd) }
        return .demo(path: demoDirectory(environment: environment))
    }
}
