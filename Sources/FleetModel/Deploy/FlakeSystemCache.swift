import Collections
import Crypto
import Foundation

/// The toplevel each machine's flake evaluated to last time, so the Fleet screen can say in sync /
/// out of sync from the first probe instead of after seconds of `nix eval` (issue 16). One file per
/// flake in `$XDG_CACHE_HOME/fleet/`, valid while the flake directory's fingerprint — every file's
/// path, size and modification time, `.git` aside — is unchanged; the prober re-evaluates in the
/// background either way and stores what it finds.
public struct FlakeSystemCache: Sendable {
    public let file: String
    public let flakeDirectory: String
    let builder: SystemBuilder
    /// Beyond this many files the fingerprint costs too much for a first frame: no cache.
    static let maxFiles = 20_000

    /// The cache of a builder's flake; nil for a flake that is not a local directory.
    public init?(builder: SystemBuilder, directory: String = InventoryCache.defaultDirectory()) {
        let dir: String
        switch builder {
        case .flake(let ref):
            guard let d = FlakeEvaluator.localDirectory(ref) else { return nil }
            dir = d
        case .expression(let file, _):
            dir = (file as NSString).deletingLastPathComponent
        }
        flakeDirectory = dir
        self.builder = builder
        let h = SHA256.hash(data: Array("\(builder)".utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
        file = directory + "/systems-\(h).json"
    }

    /// sha256 over (relative path, size, mtime) of every file; nil when the directory is unreadable or huge.
    public func fingerprint() -> String? { Self.fingerprint(directory: flakeDirectory) }

    /// The same for any flake directory (also keys `DeployConfigCache`).
    public static func fingerprint(directory flakeDirectory: String) -> String? {
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: flakeDirectory) else { return nil }
        var entries: [String] = []
        while let rel = walker.nextObject() as? String {
            if rel == ".git" || rel.hasPrefix(".git/") { walker.skipDescendants(); continue }
            var st = stat()
            guard lstat(flakeDirectory + "/" + rel, &st) == 0 else { continue }
            entries.append("\(rel)\u{0}\(st.st_size)\u{0}\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)")
            if entries.count > maxFiles { return nil }
        }
        var hasher = SHA256()
        for e in entries.sorted() { hasher.update(data: Array(e.utf8) + [0]) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Machine → toplevel store path, when stored under `key`.
    public func load(key: String) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: file), let doc = try? JSONParser.parse(Array(data)),
              doc["key"]?.stringValue == key, let systems = doc["systems"]?.objectValue else { return [:] }
        var out: [String: String] = [:]
        for (m, v) in systems { if let p = v.stringValue, p.hasPrefix("/nix/store/") { out[m] = p } }
        return out
    }

    public func store(key: String, systems: [String: String]) {
        var o = OrderedDictionary<String, JSONValue>()
        for m in systems.keys.sorted() { o[m] = .string(systems[m]!) }
        // The builder (what the name hashes) and its directory first: `CacheDirectory.pruneStale`
        // reads them to remove the file once the directory is gone.
        let doc: JSONValue = .object(["builder": .string("\(builder)"), "directory": .string(flakeDirectory),
                                      "key": .string(key), "systems": .object(o)])
        CacheDirectory.write(JSONWriter.compact.bytes(doc), to: file)
    }
}
