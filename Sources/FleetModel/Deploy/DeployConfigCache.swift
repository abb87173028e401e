import Collections
import Crypto
import Foundation

/// The flake's evaluated deploy config (`ClanDeployConfig`: machines' `clan.core.networking.*` and
/// the exported networks) as last evaluated, so the Fleet screen's TARGET column can show what the
/// deploy will use from the first frame instead of after two `nix eval`s. One file per flake in
/// `$XDG_CACHE_HOME/fleet/`, valid while the flake directory's fingerprint (`FlakeSystemCache`:
/// every file's path, size and mtime, `.git` aside) is unchanged. The dashboard re-evaluates in the
/// background either way and stores what it finds; a deploy always evaluates afresh.
public struct DeployConfigCache: Sendable {
    public let file: String
    public let flake: String
    public let flakeDirectory: String

    /// Nil for a flake that is not a local directory (nothing to fingerprint).
    public init?(flake: String, directory: String = InventoryCache.defaultDirectory()) {
        guard let dir = FlakeEvaluator.localDirectory(flake) else { return nil }
        self.flake = flake
        flakeDirectory = dir
        let h = SHA256.hash(data: Array(flake.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
        file = directory + "/deploy-config-\(h).json"
    }

    /// The stored config, if the flake's files are as they were when it was evaluated.
    public func load() -> ClanDeployConfig? {
        guard let key = FlakeSystemCache.fingerprint(directory: flakeDirectory),
              let data = FileManager.default.contents(atPath: file), let doc = try? JSONParser.parse(Array(data)),
              doc["key"]?.stringValue == key, let machines = doc["machines"], !machines.isNull else { return nil }
        let exports = doc["exports"].flatMap { $0.isNull ? nil : $0 }
        return ClanDeployConfig.parse(machines: machines, exports: exports)
    }

    /// Evaluates the flake now and stores the result under the fingerprint taken before evaluating
    /// (an edit during the evaluation then misses next time instead of being served stale). A failed
    /// machines evaluation is not stored.
    public func refresh(environment: [String: String]? = nil, runner: ProcessRunner = ProcessRunner()) async -> ClanDeployConfig {
        let key = FlakeSystemCache.fingerprint(directory: flakeDirectory)
        let raw = await ClanDeployConfig.evaluateJSON(flake: flake, runner: runner, environment: environment)
        if let key, let machines = raw.machines { store(key: key, machines: machines, exports: raw.exports) }
        return ClanDeployConfig.parse(machines: raw.machines, exports: raw.exports)
    }

    func store(key: String, machines: JSONValue, exports: JSONValue?) {
        // The flake (what the name hashes) and its directory first: `CacheDirectory.pruneStale` reads
        // them to remove the file once the directory is gone.
        let doc: JSONValue = .object(["flake": .string(flake), "directory": .string(flakeDirectory), "key": .string(key),
                                      "machines": machines, "exports": exports ?? .null])
        CacheDirectory.write(JSONWriter.compact.bytes(doc), to: file)
    }
}
