import Foundation

/// The admin's age identities, found where sops and clan look (clan `SopsKey.collect_public_keys`,
/// sops `age/keysource.go`): `$SOPS_AGE_KEY` (inline, may hold several keys), `$SOPS_AGE_KEY_FILE`,
/// and `<user config dir>/sops/age/keys.txt`. sops uses all of them together, so do we.
public enum AdminKeys {
    /// The default keys file: `$XDG_CONFIG_HOME`, else `~/Library/Application Support` on macOS,
    /// else `~/.config` (Go's `os.UserConfigDir`, as sops uses it).
    public static func defaultKeyFile(environment env: [String: String]) -> String? {
        #if os(macOS)
        if env["XDG_CONFIG_HOME"]?.hasPrefix("/") != true {
            return XDGDirectories.home(env) + "/Library/Application Support/sops/age/keys.txt"
        }
        #endif
        return XDGDirectories.base(.config, environment: env) + "/sops/age/keys.txt"
    }

    public static func load(environment env: [String: String]) throws -> [AgeIdentity] {
        var out: [AgeIdentity] = []
        var seen = Set<AgeRecipient>()
        func add(_ ids: [AgeIdentity]) {
            for id in ids where !seen.contains(id.recipient) { seen.insert(id.recipient); out.append(id) }
        }
        if let inline = env["SOPS_AGE_KEY"], !inline.isEmpty {
            add(try AgeIdentity.parseFile(inline, source: "$SOPS_AGE_KEY"))
        }
        if let file = env["SOPS_AGE_KEY_FILE"], !file.isEmpty {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw SopsError("cannot read the age key file named by $SOPS_AGE_KEY_FILE", file: file)
            }
            add(try AgeIdentity.parseFile(text, source: file))
        }
        if let file = defaultKeyFile(environment: env), FileManager.default.fileExists(atPath: file) {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw SopsError("cannot read the age key file", file: file) }
            add(try AgeIdentity.parseFile(text, source: file))
        }
        guard !out.isEmpty else {
            throw SopsError("no admin age key found: set $SOPS_AGE_KEY or $SOPS_AGE_KEY_FILE, or put one in \(defaultKeyFile(environment: env) ?? "~/.config/sops/age/keys.txt") (e.g. `age-keygen` or `clan vars keygen`)")
        }
        return out
    }
}
