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
        #if !os(macOS)
        // (macOS has no tmpfs; there the base is the RAM disk the user named, see `WorkBase`.)
        guard Self.isTmpfs(base) else {
            throw VarsError(base, "not a tmpfs: generator outputs must stay off disk")
        }
        #endif
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

    /// The path with symlinks resolved (macOS: /var/folders → /private/var/folders), as clan's
    /// `Path.resolve()` for the sandbox profile.
    public static func resolved(_ path: String) -> String {
        guard let r = realpath(path, nil) else { return path }
        defer { free(r) }
        return String(cString: r)
    }

    /// True when the mount holding `path` is a tmpfs (from /proc/self/mountinfo: the longest mount
    /// point that prefixes the resolved path).
    public static func isTmpfs(_ path: String) -> Bool {
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

/// Where private work dirs go: a tmpfs private to the user. `FLEET_VARS_WORKDIR` overrides; else
/// `$XDG_RUNTIME_DIR` (logind's per-user 0700 tmpfs, on NixOS too), else `/dev/shm`. macOS has no
/// tmpfs: there `FLEET_VARS_WORKDIR` must name a RAM disk the user made, or generating is refused.
public enum WorkBase {
    public static func resolve(environment env: [String: String]) throws -> String {
        if let d = env["FLEET_VARS_WORKDIR"], !d.isEmpty { return d }
        #if os(macOS)
        throw VarsError("FLEET_VARS_WORKDIR", "macOS has no tmpfs, and generator outputs must stay off disk: make a RAM disk (diskutil erasevolume APFS fleet-vars $(hdiutil attach -nomount ram://65536)) and set FLEET_VARS_WORKDIR=/Volumes/fleet-vars")
        #else
        if let x = env["XDG_RUNTIME_DIR"], !x.isEmpty, PrivateWorkDir.isTmpfs(x) { return x }
        return "/dev/shm"
        #endif
    }
}

/// How a generator script runs, as clan's `Generator.execute` (clan_lib/vars/generator.py:680-700)
/// and `sandbox_cmd` (clan_lib/sandbox_exec/__init__.py): under bubblewrap on Linux, under
/// `sandbox-exec` with clan's profile on macOS, or — `--no-sandbox` — plain `bash -c`. bwrap and
/// bash are found on PATH (NixOS has neither /usr/bin/bwrap nor /bin/bash).
public struct GeneratorSandbox: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        case bubblewrap(String)
        case sandboxExec
        case none
    }

    public var mode: Mode
    /// bash, resolved from PATH to its real path (visible inside the sandbox: /nix/store or /usr).
    public var bash: String
    /// The caller's PATH; inside bwrap only the entries under bound roots are kept.
    public var hostPath: String
    /// The environment `--no-sandbox` and sandbox-exec pass on (clan passes `os.environ`), without
    /// the admin's age keys.
    public var hostEnvironment: [String: String]

    public init(mode: Mode, bash: String, hostPath: String, hostEnvironment: [String: String] = [:]) {
        self.mode = mode
        self.bash = bash
        self.hostPath = hostPath
        self.hostEnvironment = hostEnvironment
    }

    /// The platform's sandbox, or clan's refusal when there is none (generator.py:685-690).
    public static func detect(environment env: [String: String], noSandbox: Bool) throws -> GeneratorSandbox {
        let path = env["PATH"] ?? "/usr/bin:/bin"
        guard let bash = which("bash", path: path) else { throw VarsError("PATH", "no bash found on PATH (\(path))") }
        let keep = env.filter { !$0.key.hasPrefix("SOPS_AGE_KEY") }
        if noSandbox { return GeneratorSandbox(mode: .none, bash: bash, hostPath: path, hostEnvironment: keep) }
        #if os(macOS)
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/sandbox-exec") else { throw notAvailable }
        return GeneratorSandbox(mode: .sandboxExec, bash: bash, hostPath: path, hostEnvironment: keep)
        #else
        guard let bwrap = which("bwrap", path: path) else { throw notAvailable }
        return GeneratorSandbox(mode: .bubblewrap(bwrap), bash: bash, hostPath: path, hostEnvironment: keep)
        #endif
    }

    static let notAvailable = VarsError("", "Sandboxing is not available on this system (no bwrap on PATH)\nRe-run 'vars generate' with '--no-sandbox' to disable sandboxing")

    /// The first executable `name` on `path`, with symlinks resolved.
    public static func which(_ name: String, path: String) -> String? {
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) {
                return URL(fileURLWithPath: p).resolvingSymlinksInPath().path
            }
        }
        return nil
    }

    /// Paths inside the sandbox.
    public static let inPath = "/run/vars/in", promptsPath = "/run/vars/prompts", outPath = "/run/vars/out"

    /// Read-only system paths bound when present. `/etc` is not bound whole (it may hold host
    /// secrets); only what common tools need to run.
    static let systemPaths = ["/nix", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
                              "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/alternatives", "/etc/ssl",
                              "/etc/ld.so.cache", "/etc/localtime", "/etc/profiles", "/run/current-system/sw"]

    /// The command and its environment (nil: the command line carries it, as bwrap's `--setenv`).
    public func command(work: PrivateWorkDir, script: String, hasPrompts: Bool) -> (argv: [String], environment: [String: String]?) {
        switch mode {
        case .bubblewrap(let bwrap):
            return (bubblewrapArgv(bwrap: bwrap, work: work, script: script, hasPrompts: hasPrompts), [:])
        case .sandboxExec:
            let real = PrivateWorkDir.resolved(work.path)
            return (["/usr/bin/sandbox-exec", "-p", Self.sandboxProfile(rwPaths: [real]), bash, "-c", script],
                    hostEnvironment.merging(hostVars(work, hasPrompts)) { $1 })
        case .none:
            return ([bash, "-c", script], hostEnvironment.merging(hostVars(work, hasPrompts)) { $1 })
        }
    }

    /// `$in`, `$out`, `$prompts` at the work dir's host paths (generator.py:656-680).
    func hostVars(_ work: PrivateWorkDir, _ hasPrompts: Bool) -> [String: String] {
        var v = ["in": work.inDir, "out": work.outDir]
        if hasPrompts { v["prompts"] = work.promptsDir }
        return v
    }

    /// clan's `bubblewrap_cmd` (sandbox_exec/__init__.py:172-215): every namespace unshared (no
    /// network: only a private loopback), a fresh root, `/nix` and the host's programs read-only,
    /// `$prompts` read-only, `$in` a private copy, `$out` the only writable place whose content is
    /// kept, `/tmp` a throw-away tmpfs. Differences, on purpose: the host's /usr etc. are bound (a
    /// directory source's scripts use the host's tools) and the environment is cleared (clan passes
    /// its own, admin keys included).
    func bubblewrapArgv(bwrap: String, work: PrivateWorkDir, script: String, hasPrompts: Bool) -> [String] {
        var a = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
                 "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run"]
        let fm = FileManager.default
        var bound: [String] = []
        for p in Self.systemPaths {
            if let dest = try? fm.destinationOfSymbolicLink(atPath: p), !dest.hasPrefix("/") {
                a += ["--symlink", dest, p]  // merged-usr: /bin -> usr/bin
                bound.append(p)
            } else if fm.fileExists(atPath: p) {
                a += ["--ro-bind", p, p]
                bound.append(p)
            }
        }
        // `$in` is a private throw-away copy; clan lets scripts write there (openssh-cert moves a file out of it).
        a += ["--bind", work.inDir, Self.inPath, "--bind", work.outDir, Self.outPath]
        if hasPrompts { a += ["--ro-bind", work.promptsDir, Self.promptsPath, "--setenv", "prompts", Self.promptsPath] }
        // The sandbox's own root and /run are read-only too: only $out, $in (a private copy) and the
        // throw-away /tmp accept writes.
        a += ["--remount-ro", "/run", "--remount-ro", "/"]
        a += ["--setenv", "in", Self.inPath, "--setenv", "out", Self.outPath,
              "--setenv", "PATH", sandboxPath(bound: bound),
              "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp", "--setenv", "LC_ALL", "C.UTF-8",
              "--chdir", "/tmp", "--", bash, "-euo", "pipefail", "-c", script]
        return a
    }

    /// The caller's PATH entries that exist inside (under a bound root), then the usual system
    /// directories. A flake generator's `finalScript` sets its own PATH from `runtimeInputs`.
    func sandboxPath(bound: [String]) -> String {
        var out: [String] = []
        let defaults = ["/run/current-system/sw/bin", "/nix/var/nix/profiles/default/bin", "/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"]
        for dir in hostPath.split(separator: ":").map(String.init) + defaults where !dir.isEmpty && !out.contains(dir) {
            if bound.contains(where: { dir == $0 || dir.hasPrefix($0 + "/") }) { out.append(dir) }
        }
        return out.joined(separator: ":")
    }

    /// clan's `create_sandbox_profile` (sandbox_exec/__init__.py:14-111), byte for byte.
    public static func sandboxProfile(roPaths: [String] = [], rwPaths: [String] = []) -> String {
        var rw = ""
        for p in rwPaths { rw += "\n(allow file* process-exec network-outbound network-inbound (subpath \"\(p)\"))" }
        var ro = ""
        for p in roPaths { ro += "\n(allow file-read* (subpath \"\(p)\"))" }
        return """
            (version 1)

            (deny default)

            ; Disallow creating setuid/setgid binaries, since that
            ; would allow breaking build user isolation.
            (deny file-write-setugid)

            ; Allow forking.
            (allow process-fork)

            ; Allow reading system information like #CPUs, etc.
            (allow sysctl-read)

            ; Allow POSIX semaphores and shared memory.
            (allow ipc-posix*)

            ; Allow SYSV semaphores and shared memory.
            (allow ipc-sysv*)

            ; Allow socket creation.
            (allow system-socket)

            ; Allow sending signals within the sandbox.
            (allow signal (target same-sandbox))

            ; Allow getpwuid.
            (allow mach-lookup (global-name "com.apple.system.opendirectoryd.libinfo"))

            ; Allow read access to the Nix store
            (allow file-read* (subpath "/nix/store"))

            ; Allow access to macOS temporary directories structure (both symlink and real paths)
            (allow file-read* file-write* file-write-create file-write-unlink (subpath "/var/folders"))
            (allow file-read* file-write* file-write-create file-write-unlink (subpath "/private/var/folders"))
            (allow file-read* file-write* file-write-create file-write-unlink (subpath "/tmp"))
            (allow file-read* file-write* file-write-create file-write-unlink (subpath "/private/tmp"))

            ; Allow reading directory structure for getcwd
            (allow file-read-metadata (subpath "/"))
            (allow file-read-metadata (subpath "/private"))

            ; Some packages like to read the system version.
            (allow file-read*
             (literal "/System/Library/CoreServices/SystemVersion.plist")
             (literal "/System/Library/CoreServices/SystemVersionCompat.plist"))

            ; Without this line clang cannot write to /dev/null, breaking some configure tests.
            (allow file-read-metadata (literal "/dev"))

            ; Allow read and write access to /dev/null
            (allow file-read* file-write* (literal "/dev/null"))
            (allow file-read* (literal "/dev/random"))
            (allow file-read* (literal "/dev/urandom"))

            ; Allow local networking (localhost only)
            (allow network* (remote ip "localhost:*"))
            (allow network-inbound (local ip "*:*"))

            ; Allow access to /etc/resolv.conf for DNS resolution
            (allow file-read* (literal "/etc/resolv.conf"))
            (allow file-read* (literal "/private/etc/resolv.conf"))

            ; Allow reading from common system paths that scripts might need
            (allow file-read* (literal "/"))
            (allow file-read* (literal "/usr"))
            (allow file-read* (literal "/bin"))
            (allow file-read* (literal "/sbin"))

            ; Allow execution of binaries from Nix store and system paths
            (allow process-exec (subpath "/nix/store"))
            (allow process-exec (literal "/bin/bash"))
            (allow process-exec (literal "/bin/sh"))
            (allow process-exec (literal "/usr/bin/env"))

            ; Additional read-write paths\(rw)

            ; Additional read-only paths\(ro)

            """
    }
}
