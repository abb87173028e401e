import Foundation

/// One secret file for a host: where it goes, its mode, its plaintext bytes. The bytes live in
/// memory only and travel to the host over ssh's stdin (clan_lib/ssh/upload.py streams a tarball too).
public struct UploadSecret: Sendable {
    /// Absolute path on the target, under the upload directory
    /// (`/var/lib/sops-nix/key.txt`, `/var/lib/sops-nix/activation/<rel_dir>/<file>`).
    public var remotePath: String
    public var mode: Int
    public var bytes: [UInt8]

    public init(remotePath: String, mode: Int = 0o400, bytes: [UInt8]) {
        self.remotePath = remotePath
        self.mode = mode
        self.bytes = bytes
    }
}

/// Where the secrets of a machine come from (the vars layer plugs in here). Returning nothing skips
/// the upload stage (and leaves the host's directory alone).
public typealias SecretsProvider = @Sendable (Machine) async throws -> [UploadSecret]

/// clan's sops upload (clan-formats.md §2.8, clan_lib/ssh/upload.py): everything goes into one
/// directory, default `/var/lib/sops-nix` (`clan.core.vars.sops.secretUploadDirectory`), which is
/// wiped first; owner root:root, directories 0700 and **every file 0400**, whatever mode the var
/// declares (clan sets the modes in the tarball itself, so there is no window with wider ones). The
/// directory must be at least 3 levels deep, or 2 under /tmp, /root or /etc (clan's guard against
/// wiping `/home/user`).
public struct SecretUploadPlan: Sendable {
    public static let defaultDirectory = "/var/lib/sops-nix"
    /// clan's `upload(file_mode=0o400)`.
    public static let fileMode = 0o400

    public let directory: String
    /// The tar archive (uncompressed ustar) streamed to the host. Holds plaintext: never log or store it.
    public let archive: [UInt8]
    public let fileCount: Int

    public struct PlanError: Error, CustomStringConvertible, Sendable {
        public let message: String
        public var description: String { message }
    }

    public init(secrets: [UploadSecret], directory: String = SecretUploadPlan.defaultDirectory) throws {
        guard directory.hasPrefix("/"), directory.count > 1, !directory.hasSuffix("/") else {
            throw PlanError(message: "upload directory '\(directory)' must be an absolute path")
        }
        let depth = directory.split(separator: "/").count
        let exception = depth >= 2 && ["/tmp/", "/root/", "/etc/"].contains { directory.hasPrefix($0) }
        guard depth >= 3 || exception else {
            throw PlanError(message: "upload directory '\(directory)' is too shallow to be wiped safely: it must be at least 3 levels deep (e.g. /var/lib/sops-nix), or 2 under /tmp, /root or /etc")
        }
        var tar = TarWriter()
        var dirs = Set<String>()
        for s in secrets.sorted(by: { $0.remotePath < $1.remotePath }) {
            guard s.remotePath.hasPrefix(directory + "/") else {
                throw PlanError(message: "secret path '\(s.remotePath)' is not under the upload directory \(directory)")
            }
            let rel = String(s.remotePath.dropFirst(directory.count + 1))
            let parts = rel.split(separator: "/", omittingEmptySubsequences: false)
            guard !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
                throw PlanError(message: "secret path '\(s.remotePath)' has an empty, '.' or '..' component")
            }
            guard (0...0o777).contains(s.mode) else {
                throw PlanError(message: "secret '\(s.remotePath)' has mode \(String(s.mode, radix: 8)), not a permission mode")
            }
            var prefix = ""
            for p in parts.dropLast() {
                prefix += (prefix.isEmpty ? "" : "/") + p
                if dirs.insert(prefix).inserted { try tar.addDirectory(prefix, mode: 0o700) }
            }
            try tar.addFile(rel, mode: Self.fileMode, bytes: s.bytes)
        }
        self.directory = directory
        self.archive = tar.finish()
        self.fileCount = secrets.count
    }

    /// The remote command, as clan runs it: create the directory 0700, wipe it, unpack stdin.
    public var remoteArgv: [String] {
        let d = ShellQuote.quote(directory)
        return ["bash", "-c", "umask 077 && install -d -m 700 \(d) && find \(d) -mindepth 1 -delete && tar -C \(d) -xf -"]
    }
}

/// A minimal in-memory POSIX ustar writer (owner root:root, mtime 0): enough for regular files and
/// directories, which is all the secret upload needs. GNU tar and bsdtar read it.
struct TarWriter {
    private(set) var bytes: [UInt8] = []

    struct TarError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    mutating func addDirectory(_ path: String, mode: Int) throws {
        try header(path + "/", mode: mode, size: 0, type: UInt8(ascii: "5"))
    }

    mutating func addFile(_ path: String, mode: Int, bytes data: [UInt8]) throws {
        try header(path, mode: mode, size: data.count, type: UInt8(ascii: "0"))
        bytes += data
        let pad = (512 - data.count % 512) % 512
        bytes += [UInt8](repeating: 0, count: pad)
    }

    /// Two zero blocks end the archive.
    mutating func finish() -> [UInt8] {
        bytes += [UInt8](repeating: 0, count: 1024)
        return bytes
    }

    private mutating func header(_ path: String, mode: Int, size: Int, type: UInt8) throws {
        var name = Array(path.utf8), prefix: [UInt8] = []
        if name.count > 100 {
            // Split at a `/` so that prefix ≤ 155 and name ≤ 100 bytes.
            guard let cut = name.indices.last(where: { name[$0] == UInt8(ascii: "/") && $0 <= 155 && name.count - $0 - 1 <= 100 }) else {
                throw TarError(message: "path too long for a tar header: \(path)")
            }
            prefix = Array(name[..<cut])
            name = Array(name[(cut + 1)...])
        }
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ field: [UInt8], at offset: Int) { for (i, b) in field.enumerated() { h[offset + i] = b } }
        func octal(_ v: Int, width: Int) -> [UInt8] {
            let s = String(v, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - s.count)) + s).utf8) + [0]
        }
        put(name, at: 0)
        put(octal(mode, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)         // uid root
        put(octal(0, width: 8), at: 116)         // gid root
        put(octal(size, width: 12), at: 124)
        put(octal(0, width: 12), at: 136)        // mtime
        put(Array(repeating: UInt8(ascii: " "), count: 8), at: 148)
        h[156] = type
        put(Array("ustar".utf8) + [0], at: 257)
        put(Array("00".utf8), at: 263)
        put(Array("root".utf8), at: 265)
        put(Array("root".utf8), at: 297)
        put(prefix, at: 345)
        let sum = h.reduce(0) { $0 + Int($1) }
        put(octal(sum, width: 7) + [UInt8(ascii: " ")], at: 148)
        bytes += h
    }
}
