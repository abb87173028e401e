import Foundation
import Synchronization

/// Loads an inventory from a directory source: `inventory.json` (serialization shape or clan's
/// hand-written form), optional `systems.json` (machine → nix system), and `machines/<name>/` dirs
/// that auto-register machines as clan's modules/clan/module.nix does.
///
/// Also the offline fast path for a flake (clan-formats.md §6.1): the flake's own `inventory.json`
/// (optional there) plus its `machines/` dirs, before evaluation returns.
public struct DirectoryInventoryLoader {
    public let directory: String
    /// A clan flake may define its whole inventory in Nix and have no `inventory.json`.
    public var inventoryJSONOptional: Bool

    public init(directory: String, inventoryJSONOptional: Bool = false) {
        self.directory = directory
        self.inventoryJSONOptional = inventoryJSONOptional
    }

    public func load() throws -> Inventory {
        let invPath = directory + "/inventory.json"
        // A big systems.json (10k machines: ~0.5 MB) is parsed on another core while inventory.json
        // is read; its errors still come first.
        let systemsPath = directory + "/systems.json"
        let pending = Self.size(of: systemsPath) >= Self.backgroundSystemsBytes ? PendingSystems(path: systemsPath) : nil
        let invBytes = pending == nil ? nil : FileBytes.read(invPath)
        let systems = try pending?.value() ?? Self.loadSystems(systemsPath)
        var inv: Inventory
        if let bytes = invBytes ?? FileBytes.read(invPath) {
            inv = try InventoryDecoder(file: invPath).decode(bytes: bytes, systems: systems)
        } else if inventoryJSONOptional {
            inv = Inventory(meta: Inventory.Meta(name: URL(fileURLWithPath: directory).lastPathComponent), machines: [:])
        } else {
            var isDir: ObjCBool = false
            let what = FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) && isDir.boolValue
                ? "cannot read file" : "no such directory: \(directory)"
            throw InventoryError(file: invPath, path: "", message: what)
        }
        // machines/<name>/ directories register machines that inventory.json does not list.
        let machinesDir = directory + "/machines"
        if let names = try? FileManager.default.contentsOfDirectory(atPath: machinesDir) {
            for name in names.sorted() where inv.machines[name] == nil {
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: machinesDir + "/" + name, isDirectory: &isDir), isDir.boolValue {
                    do { _ = try NameValidation.validate(name, as: .machine) } catch let e as NameError {
                        throw InventoryError(file: machinesDir, path: "", message: "\(e)")
                    }
                    inv.machines[name] = Machine(name: name, system: systems[name], tags: ["all", "nixos"])
                }
            }
            inv.machines.sort { $0.key < $1.key }
        }
        inv.clanDirectory = directory
        return inv
    }

    /// From this size on, systems.json is parsed on another thread (below it, a thread costs more).
    static let backgroundSystemsBytes = 64 << 10

    private static func size(of path: String) -> Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : 0
    }

    /// `loadSystems` on a global queue, waited for once.
    private final class PendingSystems: Sendable {
        private let result = Mutex<Result<[String: String], Error>?>(nil)
        private let done = DispatchSemaphore(value: 0)

        init(path: String) {
            DispatchQueue.global(qos: .userInitiated).async {
                let r = Result { try DirectoryInventoryLoader.loadSystems(path) }
                self.result.withLock { $0 = r }
                self.done.signal()
            }
        }

        func value() throws -> [String: String] {
            done.wait()
            return try result.withLock { $0! }.get()
        }
    }

    private static func loadSystems(_ path: String) throws -> [String: String] {
        guard let bytes = FileBytes.read(path) else { return [:] }
        let doc: JSONDocument
        do { doc = try JSONDocument(bytes) } catch let e as JSONSyntaxError {
            throw InventoryError(file: path, path: "", message: "invalid JSON at \(e)")
        }
        guard doc.kind(doc.root) == .object else {
            throw InventoryError(file: path, path: "", message: "expected object, found \(doc.typeName(doc.root))")
        }
        var out: [String: String] = [:]
        let pairs = doc.pairs(doc.root)
        out.reserveCapacity(pairs.count)
        for (k, v) in pairs {
            guard let s = doc.stringValue(v) else {
                throw InventoryError(file: path, path: InventoryPath.join("", k), message: "expected string, found \(doc.typeName(v))")
            }
            out[k] = s
        }
        return out
    }
}
