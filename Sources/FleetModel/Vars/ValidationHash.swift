import Crypto

/// clan's `validationHash`: `builtins.hashString "sha256" (builtins.toJSON validation)`
/// (nixosModules/clanCore/vars/interface.nix). `builtins.toJSON` sorts attribute names and writes
/// compact JSON without spaces, which is what this reproduces.
public enum ValidationHash {
    /// The `builtins.toJSON` text of a value. Lists are not allowed in `validation` by clan's type,
    /// but are serialised anyway so a hand-written file gets a hash rather than a crash.
    public static func nixToJSON(_ value: JSONValue) -> String {
        JSONWriter(indent: nil, ensureASCII: false, keySeparator: ":", sortKeys: true, escapeHTML: false).string(value)
    }

    /// nil for a null validation (clan: "validationHash = null if validation is null").
    public static func hash(of validation: JSONValue?) -> String? {
        guard let validation, !validation.isNull else { return nil }
        let digest = SHA256.hash(data: Array(nixToJSON(validation).utf8))
        return digest.map { b in
            let s = String(b, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
    }
}
