import Foundation

/// The admin's age keys, where clan and sops look: `$SOPS_AGE_KEY` (inline, may hold several keys),
/// `$SOPS_AGE_KEY_FILE`, `<user config dir>/sops/age/keys.txt`.
/// - Who the admin *is* (`publicKeys`): clan's `KeyType.collect_public_keys`
///   (clan_cli/secrets/sops.py:91-121) reads exactly one source — `SOPS_AGE_KEY`, elif
///   `SOPS_AGE_KEY_FILE`, else keys.txt — and that decides the sops user and the recipients added.
/// - What decrypts (`load`): clan hands decryption to the sops binary, whose age key source
///   (sops `age/keysource.go` `loadIdentities`) reads all three together; so do we.
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

    /// clan's admin public keys (`collect_public_keys` for AGE): one source by precedence; from its
    /// text, every `age1…`/`ssh-…` key a line mentions (`# public key:` / `# recipient:` comments
    /// included, `AGE_RECIPIENT_REGEX`), and the public key of every `AGE-SECRET-KEY-` line
    /// (`get_public_age_keys`, sops.py:350-388). A plugin identity line (`AGE-PLUGIN-…`) must follow
    /// its `# recipient:` comment. A missing file gives no keys, as in clan.
    public static func publicKeys(environment env: [String: String]) throws -> [String] {
        let text: String, source: String
        if let inline = env["SOPS_AGE_KEY"], !inline.isEmpty {
            (text, source) = (inline, "SOPS_AGE_KEY")
        } else if let file = env["SOPS_AGE_KEY_FILE"], !file.isEmpty {
            guard let t = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
            (text, source) = (t, file)
        } else if let file = defaultKeyFile(environment: env), let t = try? String(contentsOfFile: file, encoding: .utf8) {
            (text, source) = (t, file)
        } else {
            return []
        }
        var keys: [String] = []
        func add(_ k: String) { if !keys.contains(k) { keys.append(k) } }
        var recipient: String?
        for (i, raw) in text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw).trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
            if let k = lastRecipientMention(line) { recipient = k; add(k) }
            if line.hasPrefix("#") { continue }
            if line.hasPrefix("AGE-PLUGIN-") {
                guard recipient != nil else {
                    throw SopsError("Did you forget to precede line \(i) with it's corresponding `# recipient: age1xxxxxxxx` entry?", file: source)
                }
                recipient = nil
            }
            if line.hasPrefix("AGE-SECRET-KEY-") {
                do { add(try AgeIdentity(parsing: line.trimmingCharacters(in: .whitespaces)).recipient.encoded) } catch {
                    throw SopsError("Failed to get public key for age private key. Is the key malformed?", file: source)
                }
                recipient = nil
            }
        }
        return keys
    }

    /// `^.*((age1|ssh-(rsa|ed25519) ).*?)(\s|$)`: the last `age1…` or `ssh-rsa `/`ssh-ed25519 ` key
    /// on the line, up to the next white space.
    static func lastRecipientMention(_ line: String) -> String? {
        let b = Array(line.utf8)
        for start in stride(from: b.count - 1, through: 0, by: -1) {
            let rest = b[start...]
            var keyEnd: Int?
            if rest.starts(with: Array("age1".utf8)) {
                keyEnd = start
            } else if rest.starts(with: Array("ssh-rsa ".utf8)) || rest.starts(with: Array("ssh-ed25519 ".utf8)) {
                keyEnd = start + (rest.starts(with: Array("ssh-rsa ".utf8)) ? 8 : 12)
            }
            guard let from = keyEnd else { continue }
            var end = from
            while end < b.count && !(b[end] == 0x20 || b[end] == 0x09 || b[end] == 0x0A || b[end] == 0x0D || b[end] == 0x0B || b[end] == 0x0C) { end += 1 }
            return String(decoding: b[start..<end], as: UTF8.self)
        }
        return nil
    }

    /// The plugin identity lines (`AGE-PLUGIN-…`) of every source sops reads (see `load`).
    public static func pluginIdentities(environment env: [String: String]) -> [AgePluginIdentity] {
        var out: [AgePluginIdentity] = []
        if let inline = env["SOPS_AGE_KEY"], !inline.isEmpty { out += AgePlugins.identities(in: inline, source: "$SOPS_AGE_KEY") }
        for file in [env["SOPS_AGE_KEY_FILE"], defaultKeyFile(environment: env)].compactMap({ $0 }) where !file.isEmpty {
            if let t = try? String(contentsOfFile: file, encoding: .utf8) { out += AgePlugins.identities(in: t, source: file) }
        }
        return out
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
        guard !out.isEmpty || !pluginIdentities(environment: env).isEmpty else {
            throw SopsError("no admin age key found: set $SOPS_AGE_KEY or $SOPS_AGE_KEY_FILE, or put one in \(defaultKeyFile(environment: env) ?? "~/.config/sops/age/keys.txt") (e.g. `age-keygen` or `clan vars keygen`)")
        }
        return out
    }
}
