import Foundation

/// `nix store diff-closures BEFORE AFTER` (nix src/nix/diff-closures.cc), computed from the two
/// closures' path infos (`nix path-info -r --json`), so the two need not be in one store: a dry run
/// lists the running system's closure on the target and the new one wherever it was built, without
/// copying either. Same grouping — the output suffix (`-bin`, `-man`, `-lib64`, …) stripped, then
/// nix's `DrvName` split at the first `-` not followed by a letter —, same order (names, then
/// versions, byte order), same words (`∅` for none, `ε` for an empty version, a size change shown
/// from 8 KiB as nix 2.8 prints it, `%+.1f KiB`), without the colours.
public enum ClosureDiff {
    public struct PathInfo: Equatable, Sendable {
        public var path: String
        public var narSize: Int64
        public init(path: String, narSize: Int64) {
            self.path = path
            self.narSize = narSize
        }
    }

    /// One line per package whose versions changed or whose size moved by 8 KiB or more.
    public static func lines(before: [PathInfo], after: [PathInfo]) -> [String] {
        let b = grouped(before), a = grouped(after)
        let names = Set(b.keys).union(a.keys).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var out: [String] = []
        for name in names {
            let bv = b[name] ?? [:], av = a[name] ?? [:]
            let delta = av.values.reduce(Int64(0), +) - bv.values.reduce(Int64(0), +)
            let removed = Set(bv.keys).subtracting(av.keys), added = Set(av.keys).subtracting(bv.keys)
            let showDelta = abs(delta) >= 8 * 1024
            guard showDelta || !removed.isEmpty || !added.isEmpty else { continue }
            var items: [String] = []
            if !removed.isEmpty || !added.isEmpty { items.append("\(show(removed)) → \(show(added))") }
            if showDelta { items.append(String(format: "%+.1f KiB", Double(delta) / 1024)) }
            out.append("\(name): \(items.joined(separator: ", "))")
        }
        return out
    }

    /// name → version → total NAR size of its paths.
    static func grouped(_ infos: [PathInfo]) -> [String: [String: Int64]] {
        var g: [String: [String: Int64]] = [:]
        for i in infos {
            let (name, version) = nameAndVersion(storePath: i.path)
            g[name, default: [:]][version, default: 0] += i.narSize
        }
        return g
    }

    /// `/nix/store/<hash>-<name>` → nix's (name, version) after stripping an output suffix.
    static func nameAndVersion(storePath: String) -> (String, String) {
        let base = storePath.split(separator: "/").last.map(String.init) ?? storePath
        var name = Substring(base.firstIndex(of: "-").map { base[base.index(after: $0)...] } ?? Substring(base))
        // nix: regex_match "(.*)-([a-z]+|lib32|lib64)" — the last component, if all lowercase letters.
        if let dash = name.lastIndex(of: "-") {
            let suffix = name[name.index(after: dash)...]
            if suffix == "lib32" || suffix == "lib64" || (!suffix.isEmpty && suffix.utf8.allSatisfy { $0 >= 0x61 && $0 <= 0x7A }) {
                name = name[..<dash]
            }
        }
        // DrvName: the version starts after the first `-` whose next character is not a letter.
        let bytes = Array(name.utf8)
        for i in bytes.indices where bytes[i] == 0x2D && i + 1 < bytes.count {
            let c = bytes[i + 1]
            if !((c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)) {
                return (String(decoding: bytes[..<i], as: UTF8.self), String(decoding: bytes[(i + 1)...], as: UTF8.self))
            }
        }
        return (String(name), "")
    }

    static func show(_ versions: Set<String>) -> String {
        if versions.isEmpty { return "∅" }
        return versions.map { $0.isEmpty ? "ε" : $0 }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.joined(separator: ", ")
    }

    /// `nix path-info --json` output: an array of objects with `path` (nix ≤ 2.18) or an object keyed
    /// by path (nix ≥ 2.19, whose values may be null for invalid paths). nil when it is neither.
    public static func pathInfos(json: [UInt8]) -> [PathInfo]? {
        guard let doc = try? JSONParser.parse(json) else { return nil }
        if let arr = doc.arrayValue {
            return arr.compactMap { o in
                guard let p = o["path"]?.stringValue, o["valid"]?.boolValue != false else { return nil }
                return PathInfo(path: p, narSize: Int64(o["narSize"]?.intValue ?? 0))
            }
        }
        if let obj = doc.objectValue {
            return obj.compactMap { p, v in
                guard v.objectValue != nil else { return nil }
                return PathInfo(path: p, narSize: Int64(v["narSize"]?.intValue ?? 0))
            }
        }
        return nil
    }

    /// `nix path-info -r --json PATH`, for the local store or (run over ssh) the target's.
    public static func pathInfoArgv(_ path: String) -> [String] {
        ["nix", "--extra-experimental-features", "nix-command", "path-info", "-r", "--json", path]
    }
}
