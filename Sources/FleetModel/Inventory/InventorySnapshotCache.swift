import Collections
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The decoded inventory of a directory source, so a second start reads one compact file instead of
/// parsing a multi-megabyte `inventory.json`. One file per source directory in
/// `$XDG_CACHE_HOME/fleet/` (next to the flake evaluation cache, `InventoryCache`).
///
/// Keyed by the identity of everything `DirectoryInventoryLoader` reads: (device, inode, size,
/// mtime, ctime) of `inventory.json`, `systems.json` and the `machines/` directory (whose mtime
/// changes when an entry is added, removed or renamed). Any write changes ctime, which no tool can
/// set back. Kernel timestamps advance in ticks of a few ms, so two writes of the same size in one
/// tick look alike: as git does for its index ("racy clean"), nothing whose files changed in the
/// last `settleSeconds` is stored — such an entry is read from the files every time until it settles.
/// Vars values (IPs, targets) are never cached here: `ResolvedFleet` reads them on demand.
public struct InventorySnapshotCache: Sendable {
    public let directory: String
    /// Files younger than this are not cached (timestamp granularity; see above).
    public var settleSeconds: Double = 2
    static let format = "fleet-inventory-snapshot 1"

    public init(directory: String) { self.directory = directory }

    /// The stat identity of the source's files, and the newest of their timestamps (seconds).
    static func identity(source dir: String) -> (key: String, newest: Double)? {
        var parts = [format, dir]
        var newest = 0.0
        for name in ["inventory.json", "systems.json", "machines"] {
            var st = stat()
            if stat(dir + "/" + name, &st) != 0 {
                guard errno == ENOENT else { return nil }
                parts.append("\(name):-")
                continue
            }
            parts.append("\(name):\(st.st_dev):\(st.st_ino):\(st.st_mode):\(st.st_size):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec):\(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)")
            newest = max(newest, Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9,
                         Double(st.st_ctim.tv_sec) + Double(st.st_ctim.tv_nsec) / 1e9)
        }
        return (parts.joined(separator: "|"), newest)
    }

    func file(for dir: String) -> String {
        let h = SHA256.hash(data: Array(dir.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
        return directory + "/snapshot-\(h).json"
    }

    /// The inventory stored for `dir` if its files are exactly as they were then; nil otherwise.
    public func load(source dir: String) -> Inventory? {
        guard let (key, _) = Self.identity(source: dir), let bytes = FileBytes.read(file(for: dir)),
              let newline = bytes.firstIndex(of: 0x0A), bytes[..<newline].elementsEqual(key.utf8),
              let doc = try? JSONDocument(Array(bytes[(newline + 1)...])),
              doc.kind(doc.root) == .object,
              let systemsAt = doc.lastValue(doc.root, forKey: "systems"), doc.kind(systemsAt) == .object,
              let inventoryAt = doc.lastValue(doc.root, forKey: "inventory") else { return nil }
        var systems: [String: String] = [:]
        doc.forEachPair(systemsAt) { k, v in systems[doc.string(k)] = doc.stringValue(v) }
        var reader = InventoryTapeReader(doc: doc, file: file(for: dir))
        guard var inv = try? reader.inventory(at: inventoryAt, systems: systems) else { return nil }
        inv.clanDirectory = dir
        return inv
    }

    /// Stores `inv` as read from `dir`, unless the files changed too recently to be told apart.
    /// `identity` is what `identity(source:)` returned before the files were read.
    public func store(_ inv: Inventory, source dir: String, identity: (key: String, newest: Double)) {
        guard Date().timeIntervalSince1970 - identity.newest >= settleSeconds,
              Self.identity(source: dir)?.key == identity.key else { return }  // changed while we read
        var out = Array(identity.key.utf8) + [0x0A]
        out.append(contentsOf: #"{"systems":"#.utf8)
        var systems = OrderedDictionary<String, JSONValue>()
        for (name, m) in inv.machines { if let s = m.system { systems[name] = .string(s) } }
        out.append(contentsOf: JSONWriter.compact.string(.object(systems)).utf8)
        out.append(contentsOf: #","inventory":"#.utf8)
        InventoryEncoder.encode(inv, into: &out)
        out.append(UInt8(ascii: "}"))
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let target = file(for: dir)
        let tmp = target + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: tmp, contents: Data(out)) else { return }
        if rename(tmp, target) != 0 { unlink(tmp) }
    }
}
