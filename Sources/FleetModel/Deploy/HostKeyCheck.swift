import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `--host-key-check ask` (clan's default). clan passes no `StrictHostKeyChecking`, so OpenSSH
/// asks on the terminal. fleet's ssh runs with `BatchMode=yes` (a prompt would hang a deploy), so
/// fleet asks itself: the connect runs strict; when ssh says the host key is *unknown* (not changed)
/// fleet reads the host's key with `ssh-keyscan`, shows its SHA256 fingerprint (as OpenSSH prints it)
/// in the dashboard or on the terminal, and on "yes" appends exactly that key to the known_hosts file
/// ssh uses for the host (`ssh -G`), then connects again, still strict — so a key that changed in
/// between is refused. A changed key (`REMOTE HOST IDENTIFICATION HAS CHANGED`) is never asked about.
enum HostKeyCheck {
    /// ssh refused because the host is not in known_hosts (and not because its key changed).
    static func isUnknownHost(stderr: String) -> Bool {
        guard !stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") else { return false }
        return stderr.range(of: #"No [A-Z0-9-]+ host key is known for"#, options: .regularExpression) != nil
    }

    /// What `ssh -G` says about the destination: the real host name and port, an alias, and the
    /// known_hosts file new keys go to (the first `UserKnownHostsFile`, as ssh itself writes there).
    struct Resolved: Equatable {
        var hostname: String
        var port: Int
        var hostKeyAlias: String?
        var knownHostsFile: String

        /// The name known_hosts uses: the alias, else `host` or `[host]:port`.
        var knownHostsName: String {
            if let hostKeyAlias { return hostKeyAlias }
            return port == 22 ? hostname : "[\(hostname)]:\(port)"
        }
    }

    static func resolveArgv(_ target: SSHTarget, _ s: SSHSettings) -> [String] {
        ["ssh"] + SSHCommand.options(target, s) + ["-G", "--", target.sshDestination]
    }

    static func parseResolved(_ output: String, home: String) -> Resolved? {
        var kv: [String: String] = [:]
        for line in output.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let k = parts[0].lowercased()
            if kv[k] == nil { kv[k] = String(parts[1]) }
        }
        guard let host = kv["hostname"], let port = kv["port"].flatMap({ Int($0) }) else { return nil }
        let files = (kv["userknownhostsfile"] ?? "~/.ssh/known_hosts").split(separator: " ").map(String.init)
        var file = files.first ?? "~/.ssh/known_hosts"
        if file.hasPrefix("~/") { file = home + file.dropFirst(1) }
        let alias = kv["hostkeyalias"].flatMap { $0 == "none" ? nil : $0 }
        return Resolved(hostname: host, port: port, hostKeyAlias: alias, knownHostsFile: file)
    }

    /// One key offered by the host: `ssh-ed25519 AAAA…`.
    struct OfferedKey: Equatable {
        var type: String
        var base64: String

        /// `ED25519`, `ECDSA`, `RSA` — OpenSSH's names in its question.
        var displayType: String {
            if type == "ssh-ed25519" { return "ED25519" }
            if type.hasPrefix("ecdsa-") { return "ECDSA" }
            if type == "ssh-rsa" { return "RSA" }
            return type.uppercased()
        }

        /// `SHA256:<unpadded base64 of sha256(key blob)>`, as `ssh-keygen -l` and ssh print it.
        var fingerprint: String? {
            guard let blob = Data(base64Encoded: base64) else { return nil }
            let digest = Data(SHA256.hash(data: blob)).base64EncodedString()
            return "SHA256:" + digest.replacingOccurrences(of: "=", with: "")
        }
    }

    static func keyscanArgv(_ r: Resolved, timeout: Int) -> [String] {
        ["ssh-keyscan", "-T", String(max(1, timeout)), "-p", String(r.port), "-t", "ed25519,ecdsa,rsa", r.hostname]
    }

    /// The key ssh will use: ed25519, else ecdsa, else rsa (OpenSSH's default preference).
    static func preferredKey(keyscanOutput: String) -> OfferedKey? {
        var keys: [OfferedKey] = []
        for line in keyscanOutput.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count >= 3 else { continue }
            keys.append(OfferedKey(type: String(parts[1]), base64: String(parts[2])))
        }
        let order = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"]
        return keys.min { (order.firstIndex(of: $0.type) ?? 99) < (order.firstIndex(of: $1.type) ?? 99) }
    }

    /// Appends `name type key` to the known_hosts file (created 0600 with its directory 0700 when
    /// missing), in one `O_APPEND` write so concurrent hosts do not interleave.
    static func append(_ key: OfferedKey, as name: String, to file: String) throws {
        let dir = (file as NSString).deletingLastPathComponent
        if !dir.isEmpty, !FileManager.default.fileExists(atPath: dir) {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
        var line = "\(name) \(key.type) \(key.base64)\n"
        // A file that does not end in a newline would glue our entry to its last line.
        if let h = FileHandle(forReadingAtPath: file) {
            defer { try? h.close() }
            if let end = try? h.seekToEnd(), end > 0 {
                try? h.seek(toOffset: end - 1)
                if let last = try? h.read(upToCount: 1), last != Data([0x0A]) { line = "\n" + line }
            }
        }
        let fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StageError(message: "cannot write \(file): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(line.utf8)
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw StageError(message: "cannot write \(file): \(String(cString: strerror(errno)))") }
    }
}

extension HostDeployer {
    /// The connect failed on an unknown host key under `ask`: show the fingerprint, wait for the
    /// answer, add the key on yes. Throws the stage's failure otherwise.
    func askHostKey(_ ctx: StageContext) async throws {
        guard let target else { throw StageError(message: "no target resolved") }
        let home = options.environment?["HOME"] ?? ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        let g = try await ctx.run(HostKeyCheck.resolveArgv(target, ssh), logStdout: false, onStderrLine: { _ in })
        guard g.status == 0, let resolved = HostKeyCheck.parseResolved(g.stdoutString, home: home) else {
            throw StageError(message: "unknown host key, and `ssh -G` cannot say which known_hosts file to use: \(ErrorText.meaningfulLines(g.stderrString).last ?? "")")
        }
        let scan = try await ctx.run(HostKeyCheck.keyscanArgv(resolved, timeout: ssh.connectTimeout), logStdout: false,
                                     onStderrLine: { _ in })
        guard let key = HostKeyCheck.preferredKey(keyscanOutput: scan.stdoutString), let fp = key.fingerprint else {
            throw StageError(message: "unknown host key, and ssh-keyscan could not read the key of \(resolved.knownHostsName)")
        }
        let req = HostKeyRequest(host: host, knownHostsName: resolved.knownHostsName, keyType: key.displayType, fingerprint: fp)
        ctx.log(req.question)
        guard let interaction = options.interaction else {
            throw StageError(message: "unknown host key \(key.displayType) \(fp) for \(resolved.knownHostsName) and no terminal to ask on (--host-key-check ask): check the fingerprint, then add it to \(resolved.knownHostsFile) or deploy with --host-key-check accept-new")
        }
        guard await interaction.confirmHostKey(req) else {
            throw StageError(message: "host key \(key.displayType) \(fp) of \(resolved.knownHostsName) not accepted")
        }
        try Task.checkCancellation()
        try HostKeyCheck.append(key, as: resolved.knownHostsName, to: resolved.knownHostsFile)
        ctx.log("Warning: Permanently added '\(resolved.knownHostsName)' (\(key.displayType)) to \(resolved.knownHostsFile).")
    }
}
