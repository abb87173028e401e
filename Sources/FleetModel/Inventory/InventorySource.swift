import Foundation

/// Where the fleet comes from: a clan flake, a plain directory, or the embedded demo.
public enum InventorySource: Equatable, Sendable {
    case flake(path: String)
    case directory(path: String)
    case demo(path: String)

    public var isDemo: Bool { if case .demo = self { return true } else { return false } }
    public var isFlake: Bool { if case .flake = self { return true } else { return false } }

    public var path: String {
        switch self {
        case .flake(let p), .directory(let p), .demo(let p): return p
        }
    }

    /// The local checkout the source reads: the flake's directory, the inventory directory or the
    /// demo. nil for a remote flake (`github:…`). The clan directory is this plus clan's
    /// `relativeDirectory` (`ClanLayout`).
    public var localDirectory: String? {
        switch self {
        case .flake(let f): return FlakeEvaluator.localDirectory(f)
        case .directory(let p), .demo(let p): return p
        }
    }

    /// The directory a command may write (tag edits, vars, secrets). The built-in demo stays
    /// pristine (`EmbeddedDemo`); a demo copy (`make demo`, FLEET_DEMO_DIR) is writable.
    public func writableDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        if case .demo(let p) = self {
            let pristine = EmbeddedDemo.location(environment: environment)
            if (p as NSString).standardizingPath == (pristine as NSString).standardizingPath {
                throw InventorySourceError("the embedded demo fleet is read-only (\(pristine)); `make demo` runs on a writable copy, or pass --flake PATH / --inventory DIR")
            }
        }
        guard let dir = localDirectory else {
            throw InventorySourceError("\(path) is not a local flake; only a local checkout can be changed")
        }
        return dir
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

    /// The demo fleet: `FLEET_DEMO_DIR` (a writable copy, `make demo`), else the one built into the
    /// binary, unpacked (`EmbeddedDemo`) — never the source tree, which an installed binary lacks.
    public static func demoDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        if let d = environment["FLEET_DEMO_DIR"], !d.isEmpty { return d }
        return try EmbeddedDemo.unpacked(environment: environment)
    }

    /// Picks the source the way the CLI documents: `--flake`, then `--inventory`, then `./flake.nix`,
    /// else the demo.
    public static func resolve(flake: String?, inventory: String?, cwd: String, environment: [String: String]) throws -> InventorySource {
        if let flake { return .flake(path: flake) }
        if let inventory { return .directory(path: inventory) }
        if FileManager.default.fileExists(atPath: cwd + "/flake.nix") { return .flake(path: cwd) }
        return .demo(path: try demoDirectory(environment: environment))
    }
}

public struct InventorySourceError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
