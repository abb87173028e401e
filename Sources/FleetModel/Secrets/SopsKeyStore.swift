import Foundation

/// The `sops/` directory of a clan repository: recipients of users and machines, machine
/// private keys, and secrets whose recipients are named by `machines/`, `users/`, `groups/`
/// symlinks (clan `clan_cli/secrets/*.py`).
public struct SopsKeyStore {
    public let clanDirectory: String
    public var sopsDirectory: String { clanDirectory + "/sops" }

    /// clan's `VALID_SECRET_NAME` and `VALID_USER_NAME` (`secrets/types.py`).
    static let secretName = try! NSRegularExpression(pattern: "^[a-zA-Z0-9._-]+$")
    static let userName = try! NSRegularExpression(pattern: "^[a-z_]([a-z0-9_-]{0,31})?$")
    /// Hostname rule for machine names (clan `validate_hostname`).
    static let machineName = try! NSRegularExpression(pattern: "^[a-zA-Z0-9]([a-zA-Z0-9-]{0,62})?$")

    public init(clanDirectory: String) {
        self.clanDirectory = clanDirectory
    }

    static func matches(_ re: NSRegularExpression, _ s: String) -> Bool {
        re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }

    private var fm: FileManager { .default }
    func dir(_ kind: String) -> String { sopsDirectory + "/" + kind }

    // MARK: users and machines

    private func keys(_ kind: String) throws -> [String: [String]] {
        let d = dir(kind)
        guard let names = try? fm.contentsOfDirectory(atPath: d) else { return [:] }
        var out: [String: [String]] = [:]
        for n in names where !n.hasPrefix(".") {
            let f = "\(d)/\(n)/key.json"
            guard fm.fileExists(atPath: f) else { continue }
            out[n] = try SopsKeyFile.ageRecipients(f)
        }
        return out
    }

    /// user name -> age recipients from `sops/users/<u>/key.json`.
    public func users() throws -> [String: [String]] { try keys("users") }
    /// machine name -> age recipients from `sops/machines/<m>/key.json`.
    public func machines() throws -> [String: [String]] { try keys("machines") }

    public func addUser(_ name: String, recipient: String) throws { try addUser(name, recipient: recipient, force: false) }
    public func addMachine(_ name: String, recipient: String) throws { try addMachine(name, recipient: recipient, force: false) }

    /// clan `secrets users add`: writes `key.json` in the array form; refuses to overwrite unless `force`.
    public func addUser(_ name: String, recipient: String, force: Bool) throws {
        guard Self.matches(Self.userName, name) else { throw SopsError("invalid user name '\(name)' (clan allows [a-z_][a-z0-9_-]{0,31})") }
        try writeKey(kind: "users", name: name, recipient: recipient, force: force)
    }

    /// clan `secrets machines add`. (clan also re-keys the machine's secrets when a key is
    /// replaced with --force; callers do that with `updateRecipients`.)
    public func addMachine(_ name: String, recipient: String, force: Bool) throws {
        guard Self.matches(Self.machineName, name) else { throw SopsError("invalid machine name '\(name)' (must be a valid hostname)") }
        try writeKey(kind: "machines", name: name, recipient: recipient, force: force)
    }

    private func writeKey(kind: String, name: String, recipient: String, force: Bool) throws {
        let r = try AgeRecipient(parsing: recipient)
        let d = "\(dir(kind))/\(name)"
        let f = d + "/key.json"
        if !force && fm.fileExists(atPath: f) { throw SopsError("\(name) already exists in \(dir(kind)). Use --force to overwrite.", file: f) }
        try fm.createDirectory(atPath: d, withIntermediateDirectories: true)
        try AtomicFile.write(SopsKeyFile.render([.init(publicKey: r.encoded, type: "age")]), to: f)
    }

    // MARK: secrets and their recipient links

    public func secretDirectory(_ name: String) -> String { dir("secrets") + "/" + name }

    /// Names under `sops/secrets/` that hold a `secret` file (clan `list_secrets`), sorted.
    public func secrets() throws -> [String] {
        guard let names = try? fm.contentsOfDirectory(atPath: dir("secrets")) else { return [] }
        return names.filter { Self.matches(Self.secretName, $0) && fm.fileExists(atPath: secretDirectory($0) + "/secret") }.sorted()
    }

    /// A recipient link that resolves outside the repository would let a file elsewhere (another
    /// user's /tmp, say) choose who a secret is encrypted to: refused (SafePath), not ignored.
    private func refuseLinkOutsideRepository(_ link: String) throws {
        let root = clanDirectory.hasSuffix("/") ? String(clanDirectory.dropLast()) : clanDirectory
        guard link.hasPrefix(root + "/") else { return }
        do { _ = try SafePath.resolve(String(link.dropFirst(root.count + 1)), in: root) } catch let e as SafePathError {
            throw SopsError("refusing a recipient symlink: \(e.message)", file: link)
        }
    }

    /// Resolves a relative symlink the way Python's `Path.resolve` does for clan.
    private func resolveLink(_ link: String) -> String? {
        guard let dest = try? fm.destinationOfSymbolicLink(atPath: link) else { return nil }
        let base = (link as NSString).deletingLastPathComponent
        let abs = dest.hasPrefix("/") ? dest : (base as NSString).appendingPathComponent(dest)
        let resolved = URL(fileURLWithPath: abs).standardizedFileURL.resolvingSymlinksInPath().path
        return fm.fileExists(atPath: resolved) ? resolved : nil
    }

    /// Keys behind the symlinks of one `machines/` or `users/` folder (clan `collect_keys_for_type`):
    /// broken links and links into the wrong kind of folder are ignored, as clan does (with a warning).
    private func linkedRecipients(_ folder: String) throws -> [String] {
        guard let names = try? fm.contentsOfDirectory(atPath: folder) else { return [] }
        let kind = (folder as NSString).lastPathComponent
        var out: [String] = []
        for n in names.sorted() {
            let link = folder + "/" + n
            guard (try? fm.destinationOfSymbolicLink(atPath: link)) != nil else { continue }
            try refuseLinkOutsideRepository(link)
            guard let target = resolveLink(link) else { continue }
            guard ((target as NSString).deletingLastPathComponent as NSString).lastPathComponent == kind else { continue }
            do { out += try SopsKeyFile.ageRecipients(target + "/key.json") } catch { throw error.attributed(to: target + "/key.json") }
        }
        return out
    }

    /// The wanted recipients of a secret directory: keys behind `machines/*`, `users/*` and
    /// `groups/*/{machines,users}/*` (clan `collect_keys_for_path`), sorted and de-duplicated.
    public func recipients(ofSecretDirectory path: String) throws -> [String] {
        var all = try linkedRecipients(path + "/machines") + linkedRecipients(path + "/users")
        if let groups = try? fm.contentsOfDirectory(atPath: path + "/groups") {
            for g in groups.sorted() {
                try refuseLinkOutsideRepository(path + "/groups/" + g)
                guard let target = resolveLink(path + "/groups/" + g) else { continue }
                all += try linkedRecipients(target + "/machines") + linkedRecipients(target + "/users")
            }
        }
        return Array(Set(all)).sorted()
    }

    /// clan `allow_member`: `<secret>/<kind>/<name>` -> relative link to `sops/<kind>/<name>`.
    public func allow(_ kind: String, _ name: String, secretDirectory secret: String) throws {
        guard ["users", "machines", "groups"].contains(kind) else { throw SopsError("unknown member kind '\(kind)'") }
        let source = "\(dir(kind))/\(name)"
        guard fm.fileExists(atPath: source) else {
            let have = (try? fm.contentsOfDirectory(atPath: dir(kind)).sorted().joined(separator: ", ")) ?? "nothing"
            throw SopsError("cannot encrypt \((secret as NSString).lastPathComponent) for '\(name)': '\(name)' does not exist in \(dir(kind)) (it contains: \(have))")
        }
        let folder = "\(secret)/\(kind)"
        try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let member = "\(folder)/\(name)"
        if let attrs = try? fm.attributesOfItem(atPath: member) {
            guard attrs[.type] as? FileAttributeType == .typeSymbolicLink else {
                throw SopsError("\(member) exists but is not a symlink")
            }
            if resolveLink(member) == URL(fileURLWithPath: source).standardizedFileURL.resolvingSymlinksInPath().path { return }
            try fm.removeItem(atPath: member)
        }
        // Relative like clan's os.path.relpath: sops/secrets/<s>/<kind>/<n> -> ../../../<kind>/<n>.
        try fm.createSymbolicLink(atPath: member, withDestinationPath: relativePath(from: folder, to: source))
    }

    func relativePath(from dirPath: String, to target: String) -> String {
        let a = URL(fileURLWithPath: dirPath).standardizedFileURL.pathComponents
        let b = URL(fileURLWithPath: target).standardizedFileURL.pathComponents
        var i = 0
        while i < a.count, i < b.count, a[i] == b[i] { i += 1 }
        return (Array(repeating: "..", count: a.count - i) + b[i...]).joined(separator: "/")
    }

    /// The user names whose key.json holds one of `recipients` (clan finds the admin this way).
    public func userNames(for recipients: [AgeRecipient]) throws -> [String] {
        let wanted = Set(recipients.map(\.encoded))
        return try users().filter { !wanted.isDisjoint(with: $0.value) }.keys.sorted()
    }

    // MARK: reading and writing secrets

    public func readSecret(_ name: String, identities: [AgeIdentity], plugins: [AgePluginIdentity] = []) throws -> [UInt8] {
        guard fm.fileExists(atPath: secretDirectory(name) + "/secret") else {
            throw SopsError("secret '\(name)' does not exist", file: secretDirectory(name) + "/secret")
        }
        return try readSecret(directory: secretDirectory(name), identities: identities, plugins: plugins)
    }

    /// Decrypts `<directory>/secret` (a `sops/secrets/<n>` or a `vars/…/<file>` directory).
    public func readSecret(directory: String, identities: [AgeIdentity], plugins: [AgePluginIdentity] = []) throws -> [UInt8] {
        let path = directory + "/secret"
        guard let data = fm.contents(atPath: path) else { throw SopsError("secret does not exist", file: path) }
        do {
            return try Sops.decryptClanSecret(String(decoding: data, as: UTF8.self), identities: identities, plugins: plugins)
        } catch { throw error.attributed(to: path) }
    }

    /// clan `encrypt_secret`: adds the requested links, makes sure the admin (a user whose key is
    /// one of `adminRecipients`) can read it, and writes `secret` to the linked recipients.
    public func writeSecret(_ name: String, value: [UInt8], adminRecipients: [AgeRecipient],
                            users: [String] = [], machines: [String] = [], groups: [String] = [], now: Date = Date()) throws {
        guard Self.matches(Self.secretName, name) else { throw SopsError("invalid secret name '\(name)' (allowed: [a-zA-Z0-9._-]+)") }
        try writeSecret(directory: secretDirectory(name), value: value, adminRecipients: adminRecipients,
                        users: users, machines: machines, groups: groups, now: now)
    }

    /// `writeSecret` for any secret directory (also `vars/per-machine/<m>/<gen>/<file>`): the
    /// links it adds are relative to that directory, as clan makes them.
    public func writeSecret(directory secret: String, value: [UInt8], adminRecipients: [AgeRecipient],
                            users: [String] = [], machines: [String] = [], groups: [String] = [], now: Date = Date()) throws {
        guard !adminRecipients.isEmpty else { throw SopsError("no admin keys found") }
        try fm.createDirectory(atPath: secret, withIntermediateDirectories: true)
        for u in users { try allow("users", u, secretDirectory: secret) }
        for m in machines { try allow("machines", m, secretDirectory: secret) }
        for g in groups { try allow("groups", g, secretDirectory: secret) }
        var wanted = try recipients(ofSecretDirectory: secret)
        let admin = adminRecipients.map(\.encoded)
        if !admin.contains(where: wanted.contains) {
            // clan links the admin's user entry; without one it still encrypts to the admin key.
            if let user = try userNames(for: adminRecipients).first { try allow("users", user, secretDirectory: secret) }
            wanted = Array(Set(wanted + admin)).sorted()
        }
        let recipients = try wanted.map { try AgeRecipient(parsing: $0) }
        try AtomicFile.write(try Sops.encryptClanSecret(value, recipients: recipients, now: now), to: secret + "/secret")
    }

    /// Re-encrypts a secret to the recipients its links name now (clan `update_keys`, i.e. sops
    /// `updatekeys`); returns whether the file changed.
    @discardableResult
    public func updateRecipients(_ name: String, identities: [AgeIdentity]) throws -> Bool {
        let path = secretDirectory(name) + "/secret"
        guard let data = fm.contents(atPath: path) else { throw SopsError("secret '\(name)' does not exist", file: path) }
        let text = String(decoding: data, as: UTF8.self)
        do {
            let wanted = try recipients(ofSecretDirectory: secretDirectory(name))
            guard try Sops.recipients(ofFileText: text).sorted() != wanted else { return false }
            let out = try Sops.reencrypt(text, identities: identities, to: wanted.map { try AgeRecipient(parsing: $0) })
            try AtomicFile.write(out, to: path)
            return true
        } catch { throw error.attributed(to: path) }
    }

    /// Secrets under `sops/secrets/` that link `<kind>/<name>` directly or through a group
    /// (clan `get_secrets_filter_for_machine` / `…_for_user`).
    public func secrets(referencing kind: String, _ name: String) throws -> [String] {
        try secrets().filter { s in
            let dir = secretDirectory(s)
            if fm.fileExists(atPath: "\(dir)/\(kind)/\(name)") || (try? fm.destinationOfSymbolicLink(atPath: "\(dir)/\(kind)/\(name)")) != nil { return true }
            guard let groups = try? fm.contentsOfDirectory(atPath: dir + "/groups") else { return false }
            return groups.contains { g in
                guard let target = resolveLink(dir + "/groups/" + g) else { return false }
                return fm.fileExists(atPath: "\(target)/\(kind)/\(name)")
            }
        }
    }

    /// clan `update_secrets` after a user or machine key changed: re-keys every secret that
    /// references it; returns the names that changed.
    public func updateSecrets(referencing kind: String, _ name: String, identities: () throws -> [AgeIdentity]) throws -> [String] {
        let affected = try secrets(referencing: kind, name)
        guard !affected.isEmpty else { return [] }
        let ids = try identities()
        return try affected.filter { try updateRecipients($0, identities: ids) }
    }

    // MARK: machine keys

    /// clan `ensure_machine_key`: a fresh X25519 key pair; the public half in
    /// `sops/machines/<m>/key.json`, the private half as the secret `<m>-age.key`, readable by
    /// the admins (linked under its `users/`).
    public func createMachineKey(_ machine: String, adminRecipients: [AgeRecipient]) throws -> AgeRecipient {
        guard Self.matches(Self.machineName, machine) else { throw SopsError("invalid machine name '\(machine)' (must be a valid hostname)") }
        let keyFile = "\(dir("machines"))/\(machine)/key.json"
        if fm.fileExists(atPath: keyFile) { throw SopsError("machine '\(machine)' already has a key", file: keyFile) }
        let secretName = "\(machine)-age.key"
        if fm.fileExists(atPath: secretDirectory(secretName) + "/secret") {
            throw SopsError("machine '\(machine)' already has a private key secret", file: secretDirectory(secretName) + "/secret")
        }
        let id = AgeIdentity.generate()
        var value = Array(id.encoded.utf8)   // exactly the 74 characters, no trailing newline
        defer { value.zeroize() }
        let adminUsers = try userNames(for: adminRecipients)
        try writeSecret(secretName, value: value, adminRecipients: adminRecipients, users: adminUsers)
        try addMachine(machine, recipient: id.recipient.encoded)
        return id.recipient
    }

    /// Decrypts `sops/secrets/<m>-age.key/secret` with the admin's identities.
    public func machineIdentity(_ machine: String, adminIdentities: [AgeIdentity]) throws -> AgeIdentity {
        var bytes = try readSecret("\(machine)-age.key", identities: adminIdentities)
        defer { bytes.zeroize() }
        let path = secretDirectory("\(machine)-age.key") + "/secret"
        do {
            return try AgeIdentity(parsing: String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        } catch { throw SopsError("the decrypted value is not an age identity", file: path, field: "data") }
    }
}
