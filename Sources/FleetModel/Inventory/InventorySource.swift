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

/// Loads an inventory from a directory source: `inventory.json` (serialization shape), optional
/// `systems.json` (machine → nix system), and `machines/<name>/` dirs that auto-register machines
/// as clan's modules/clan/module.nix does.
public struct DirectoryInventoryLoader {
    public let directory: String
    public init(directory: String) { self.directory = directory }

    public func load() throws -> Inventory {
        let invPath = directory + "/inventory.json"
        guard let data = FileManager.default.contents(atPath: invPath) else {
            throw InventoryError(file: invPath, path: "", message: "cannot read file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw InventoryError(file: invPath, path: "", message: "file is not UTF-8")
        }
        let systems = try loadSystems()
        var inv = try InventoryDecoder(file: invPath).decode(text, systems: systems)
        // machines/<name>/ directories register machines that inventory.json does not list.
        let machinesDir = directory + "/machines"
        if let names = try? FileManager.default.contentsOfDirectory(atPath: machinesDir) {
            for name in names.sorted() where inv.machines[name] == nil {
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: machinesDir + "/" + name, isDirectory: &isDir), isDir.boolValue {
                    inv.machines[name] = Machine(name: name, system: systems[name], tags: ["all", "nixos"])
                }
            }
            inv.machines.sort { $0.key < $1.key }
        }
        return inv
    }

    private func loadSystems() throws -> [String: String] {
        let path = directory + "/systems.json"
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        let root: JSONValue
        do { root = try JSONParser.parse(Array(data)) } catch let e as JSONSyntaxError {
            throw InventoryError(file: path, path: "", message: "invalid JSON at \(e)")
        }
        guard let o = root.objectValue else {
            throw InventoryError(file: path, path: "", message: "expected object, found \(root.typeName)")
        }
        var out: [String: String] = [:]
        for (k, v) in o {
            guard let s = v.stringValue else {
                throw InventoryError(file: path, path: k, message: "expected string, found \(v.typeName)")
            }
            out[k] = s
        }
        return out
    }
}
