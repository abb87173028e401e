import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A private working directory for one generator run, on a RAM-backed tmpfs (`/dev/shm`), mode
/// 0700, holding `in/`, `prompts/` and `out/`. Plaintext secrets (prompt answers, decrypted
/// dependencies, generator outputs) live only here and are removed when the run ends.
public final class PrivateWorkDir {
    public let path: String
    public var inDir: String { path + "/in" }
    public var promptsDir: String { path + "/prompts" }
    public var outDir: String { path + "/out" }

    /// `base` must be a tmpfs; `/dev/shm` is one on Linux. Refuses other file systems so a secret can
    /// never land on a disk by configuration mistake.
    public init(base: String = "/dev/shm") throws {
        guard Self.isTmpfs(base) else {
            throw VarsError(base, "not a tmpfs: generator outputs must stay off disk")
        }
        // The pid in the name lets a later run remove what a killed run left (`removeStale`).
        var template = Array((base + "/fleet-vars-\(getpid())-XXXXXX").utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw VarsError(base, "cannot create a private directory: \(String(cString: strerror(errno)))")
        }
        path = String(cString: p)
        chmod(path, 0o700)
        for d in [inDir, promptsDir, outDir] {
            guard mkdir(d, 0o700) == 0 else { throw VarsError(d, "cannot create: \(String(cString: strerror(errno)))") }
        }
    }

    deinit { remove() }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Removes work dirs of fleet processes that no longer exist (killed mid-run: their plaintext
    /// would otherwise stay in RAM until reboot). Only our own naming pattern is touched.
    public static func removeStale(base: String = "/dev/shm") {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] where name.hasPrefix("fleet-vars-") {
            let parts = name.split(separator: "-")
            guard parts.count == 4, let pid = Int32(parts[2]) else { continue }
            if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(atPath: base + "/" + name)
            }
        }
    }

    /// Writes a file readable only by us (0600) inside the work dir.
    public func write(_ bytes: [UInt8], to file: String) throws {
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw VarsError(file, "cannot write: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        try VarsAtomicWrite.writeAll(fd, bytes, path: file)
    }

    /// True when the mount holding `path` is a tmpfs (from /proc/self/mountinfo: the longest mount
    /// point that prefixes the resolved path).
    static func isTmpfs(_ path: String) -> Bool {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let info = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return false }
        var best = (len: -1, fs: "")
        for line in info.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard let dash = parts.firstIndex(of: "-"), parts.count > dash + 1, parts.count > 4 else { continue }
            let mp = String(parts[4]).replacingOccurrences(of: "\\040", with: " ")
            let under = resolved == mp || resolved.hasPrefix(mp == "/" ? "/" : mp + "/")
            if under && mp.count > best.len { best = (mp.count, String(parts[dash + 1])) }
        }
        return best.fs == "tmpfs" || best.fs == "ramfs"
    }
}

/// The bubblewrap command line a generator script runs under: every namespace unshared (no
/// network: only a private loopback), the host's programs read-only, `$prompts` read-only,
/// `$in` a private copy, `$out` the only writable place whose content is kept, `/tmp` a throw-away tmpfs. Mirrors
/// clan's `bubblewrap_cmd` (clan_lib/sandbox_exec), adapted to a host without a nix store PATH.
public enum GeneratorSandbox {
    /// Paths inside the sandbox.
    public static let inPath = "/run/vars/in", promptsPath = "/run/vars/prompts", outPath = "/run/vars/out"

    /// Read-only system paths bound when present. `/etc` is not bound whole (it may hold host
    /// secrets); only what common tools need to run.
    static let systemPaths = ["/nix", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
                              "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/alternatives", "/etc/ssl",
                              "/etc/ld.so.cache", "/etc/localtime", "/run/current-system/sw"]

    public static func argv(bwrap: String = "/usr/bin/bwrap", work: PrivateWorkDir, script: String, hasPrompts: Bool) -> [String] {
        var a = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
                 "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run"]
        let fm = FileManager.default
        for p in systemPaths {
            if let dest = try? fm.destinationOfSymbolicLink(atPath: p), !dest.hasPrefix("/") {
                a += ["--symlink", dest, p]  // merged-usr: /bin -> usr/bin
            } else if fm.fileExists(atPath: p) {
                a += ["--ro-bind", p, p]
            }
        }
        // `$in` is a private throw-away copy; clan lets scripts write there (openssh-cert moves a file out of it).
        a += ["--bind", work.inDir, inPath, "--bind", work.outDir, outPath]
        if hasPrompts { a += ["--ro-bind", work.promptsDir, promptsPath, "--setenv", "prompts", promptsPath] }
        // The sandbox's own root and /run are read-only too: only $out, $in (a private copy) and the
        // throw-away /tmp accept writes.
        a += ["--remount-ro", "/run", "--remount-ro", "/"]
        a += ["--setenv", "in", inPath, "--setenv", "out", outPath,
              "--setenv", "PATH", "/run/current-system/sw/bin:/nix/var/nix/profiles/default/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
              "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp", "--setenv", "LC_ALL", "C.UTF-8",
              "--chdir", "/tmp", "--", "/bin/bash", "-euo", "pipefail", "-c", script]
        return a
    }
}
