import Crypto
import Foundation

/// The last evaluation of each flake, so the UI's first frame needs no Nix. One file per flake path
/// in `$XDG_CACHE_HOME/fleet/` (default `~/.cache/fleet/`), valid while the key — flake path, git
/// HEAD and the dirty state of the work tree — is unchanged.
public struct InventoryCache: Sendable {
    public let directory: String
    public var runner: ProcessRunner

    public init(directory: String, runner: ProcessRunner = ProcessRunner()) {
        self.directory = directory
        self.runner = runner
    }

    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        XDGDirectories.fleet(.cache, environment: environment)
    }

    /// `sha256(path, HEAD, status, diff)`; nil when the flake is not a git work tree (then nothing is
    /// cached: without a revision the key could not notice edits).
    public func key(flakeDirectory dir: String) async -> String? {
        func git(_ args: [String]) async -> ProcessResult? {
            let r = try? await runner.run(ProcessSpec(argv: ["git", "-C", dir] + args, timeout: .seconds(30)))
            return r.flatMap { $0.status == 0 ? $0 : nil }
        }
        guard let head = await git(["rev-parse", "--verify", "-q", "HEAD"]) else { return nil }
        // Untracked files count too: clan `git add --intent-to-add`s inventory.json so Nix sees it.
        guard let status = await git(["status", "--porcelain=v1", "-z"]) else { return nil }
        var hasher = SHA256()
        hasher.update(data: Array(dir.utf8) + [0])
        hasher.update(data: head.stdout + [0])
        hasher.update(data: status.stdout + [0])
        if !status.stdout.isEmpty, let diff = await git(["diff", "HEAD", "--binary"]) {
            hasher.update(data: diff.stdout)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    private func file(for dir: String) -> String {
        let h = SHA256.hash(data: Array(dir.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
        return directory + "/inventory-\(h).json"
    }

    /// The cached serialization for `dir` if it was stored under `key`.
    public func load(flakeDirectory dir: String, key: String) -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: file(for: dir)),
              let doc = try? JSONParser.parse(Array(data)),
              doc["key"]?.stringValue == key, doc["flake"]?.stringValue == dir,
              let serialization = doc["serialization"] else { return nil }
        return Array(JSONWriter.compact.string(serialization).utf8)
    }

    public func store(flakeDirectory dir: String, key: String, serialization: [UInt8]) throws {
        let value = try JSONParser.parse(serialization)
        let doc: JSONValue = .object(["key": .string(key), "flake": .string(dir), "serialization": value])
        guard CacheDirectory.write(JSONWriter.compact.bytes(doc), to: file(for: dir)) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file(for: dir)])
        }
    }
}
