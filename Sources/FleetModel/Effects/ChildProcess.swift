import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One spawned child: its pipes, reader threads, the thread that reaps it, and the teardown of its
/// process group. Internal to `ProcessRunner`.
final class ChildProcess: Sendable {
    enum StopReason { case timeout, cancelled, leaderExited }

    let pid: pid_t
    private let spec: ProcessSpec
    /// What the reader threads, the reaper, a timeout and the awaiting task share.
    private struct State {
        var exitStatus: Int32?
        var openStreams = 2
        var stdoutBytes: [UInt8] = []
        var stderrBytes: [UInt8] = []
        var timedOut = false
        var cancelled = false
        var terminating = false
        var continuation: CheckedContinuation<ProcessResult, Never>?
        var finished: ProcessResult?
    }
    private let state = Mutex(State())

    var wasCancelled: Bool { state.withLock { $0.cancelled } }

    private init(pid: pid_t, spec: ProcessSpec) {
        self.pid = pid
        self.spec = spec
    }

    static func launch(_ spec: ProcessSpec,
                       onStdoutLine: @escaping @Sendable (String) -> Void,
                       onStderrLine: @escaping @Sendable (String) -> Void) throws -> ChildProcess {
        guard let program = spec.argv.first, !program.isEmpty else { throw ProcessError.emptyArgv }
        let searchPath = spec.environment?["PATH"] ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard let executable = ProcessRunner.resolveExecutable(program, path: searchPath) else {
            throw ProcessError.notFound(program: program, searchPath: searchPath)
        }
        if let wd = spec.workingDirectory {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: wd, isDirectory: &isDir), isDir.boolValue else {
                throw ProcessError.workingDirectoryMissing(wd)
            }
        }

        func makePipe() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [-1, -1]
            guard GNUExtras.pipe2(&fds, O_CLOEXEC) == 0 else {
                throw ProcessError.spawnFailed(program: program, message: "pipe: " + String(cString: strerror(errno)))
            }
            return (fds[0], fds[1])
        }
        let outPipe = try makePipe()
        let errPipe = try makePipe()
        let inPipe: (read: Int32, write: Int32)? = spec.stdin == nil && spec.stdinChannel == nil ? nil : try makePipe()

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let inPipe {
            posix_spawn_file_actions_adddup2(&actions, inPipe.read, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, outPipe.write, 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe.write, 2)
        if let wd = spec.workingDirectory {
            let rc = GNUExtras.addchdir(&actions, wd)
            guard rc == 0 else {
                close(outPipe.read); close(outPipe.write); close(errPipe.read); close(errPipe.write)
                if let inPipe { close(inPipe.read); close(inPipe.write) }
                throw ProcessError.spawnFailed(program: program, message: "chdir action: " + String(cString: strerror(rc)))
            }
        }

        var attrs = posix_spawnattr_t()
        posix_spawnattr_init(&attrs)
        defer { posix_spawnattr_destroy(&attrs) }
        // Own process group (pgid = child's pid); default signal dispositions and an empty mask, so
        // what fleet ignores (SIGPIPE) or blocks does not leak into children.
        posix_spawnattr_setflags(&attrs, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attrs, 0)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attrs, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM, SIGTTIN, SIGTTOU, SIGTSTP] {
            sigaddset(&defaults, s)
        }
        posix_spawnattr_setsigdefault(&attrs, &defaults)

        let argv = spec.argv
        let envStrings: [String] = spec.environment.map { $0.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } }
            ?? ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        var cArgv: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        var cEnv: [UnsafeMutablePointer<CChar>?] = envStrings.map { strdup($0) } + [nil]
        defer {
            for p in cArgv { free(p) }
            for p in cEnv { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attrs, &cArgv, &cEnv)
        // The child has its copies; ours of the child's ends must go, or EOF never comes.
        close(outPipe.write)
        close(errPipe.write)
        if let inPipe { close(inPipe.read) }
        guard rc == 0 else {
            close(outPipe.read); close(errPipe.read)
            if let inPipe { close(inPipe.write) }
            if rc == ENOENT { throw ProcessError.notFound(program: program, searchPath: searchPath) }
            throw ProcessError.spawnFailed(program: program, message: String(cString: strerror(rc)))
        }

        let child = ChildProcess(pid: pid, spec: spec)
        child.startReader(fd: outPipe.read, isStdout: true, onLine: onStdoutLine)
        child.startReader(fd: errPipe.read, isStdout: false, onLine: onStderrLine)
        if let inPipe, let channel = spec.stdinChannel {
            channel.attach(fd: inPipe.write)
        } else if let inPipe, let bytes = spec.stdin {
            child.startWriter(fd: inPipe.write, bytes: bytes)
        }
        child.startReaper()
        if let timeout = spec.timeout {
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout.dispatchInterval) { [weak child] in
                child?.terminate(reason: .timeout)
            }
        }
        return child
    }

    /// Waits until the child is reaped and both output pipes reached EOF.
    func result() async -> ProcessResult {
        await withCheckedContinuation { (c: CheckedContinuation<ProcessResult, Never>) in
            let finished = state.withLock { s -> ProcessResult? in
                if s.finished == nil { s.continuation = c }
                return s.finished
            }
            if let finished { c.resume(returning: finished) }
        }
    }

    /// SIGTERM to the whole group now, SIGKILL after the grace period if any member is still alive.
    func terminate(reason: StopReason) {
        let already = state.withLock { s in
            if reason == .timeout, s.finished == nil { s.timedOut = true }
            if reason == .cancelled, s.finished == nil { s.cancelled = true }
            defer { s.terminating = true }
            return s.terminating || s.finished != nil
        }
        if already { return }
        let pgid = pid
        guard Self.groupAlive(pgid) else { return }
        kill(-pgid, SIGTERM)
        DispatchQueue.global().asyncAfter(deadline: .now() + spec.killGracePeriod.dispatchInterval) {
            if Self.groupAlive(pgid) { kill(-pgid, SIGKILL) }
        }
    }

    /// True while any process of the group exists. The pgid cannot be reused meanwhile: Linux keeps a
    /// pid allocated while it names a live process group.
    static func groupAlive(_ pgid: pid_t) -> Bool {
        kill(-pgid, 0) == 0 || errno == EPERM
    }

    private func startReader(fd: Int32, isStdout: Bool, onLine: @escaping @Sendable (String) -> Void) {
        let thread = Thread { [self] in
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                let chunk = buffer[0..<n]
                state.withLock {
                    if isStdout { $0.stdoutBytes.append(contentsOf: chunk) } else { $0.stderrBytes.append(contentsOf: chunk) }
                }
                pending.append(contentsOf: chunk)
                var start = 0
                while let nl = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    onLine(String(decoding: pending[start..<nl], as: UTF8.self))
                    start = nl + 1
                }
                pending.removeFirst(start)
            }
            if !pending.isEmpty { onLine(String(decoding: pending, as: UTF8.self)) }
            close(fd)
            state.withLock { $0.openStreams -= 1 }
            finishIfDone()
        }
        thread.name = "fleet-\(isStdout ? "stdout" : "stderr")-\(pid)"
        thread.start()
    }

    private func startWriter(fd: Int32, bytes: [UInt8]) {
        let thread = Thread {
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }  // EPIPE: the child stopped reading; that is its business.
                offset += n
            }
            close(fd)
        }
        thread.name = "fleet-stdin-\(pid)"
        thread.start()
    }

    private func startReaper() {
        let thread = Thread { [self] in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 {
                if errno != EINTR { status = 127 << 8; break }
            }
            // WIFEXITED / WTERMSIG, spelled out because the C macros do not import.
            let termSignal = status & 0x7f
            let code: Int32 = termSignal == 0 ? (status >> 8) & 0xff : 128 + termSignal
            state.withLock { $0.exitStatus = code }
            // Leftovers of the group (background jobs) would otherwise outlive us and hold the pipes.
            if spec.terminateGroupOnExit { terminate(reason: .leaderExited) }
            finishIfDone()
        }
        thread.name = "fleet-wait-\(pid)"
        thread.start()
    }

    private func finishIfDone() {
        let done = state.withLock { s -> (ProcessResult, CheckedContinuation<ProcessResult, Never>?)? in
            guard s.finished == nil, let status = s.exitStatus, s.openStreams == 0 else { return nil }
            let result = ProcessResult(status: status, stdout: s.stdoutBytes, stderr: s.stderrBytes,
                                       timedOut: s.timedOut, processGroup: pid)
            s.finished = result
            defer { s.continuation = nil }
            return (result, s.continuation)
        }
        if let (result, c) = done { c?.resume(returning: result) }
    }
}

extension Duration {
    var dispatchInterval: DispatchTimeInterval {
        let (s, atto) = components
        let ns = s.multipliedReportingOverflow(by: 1_000_000_000)
        if ns.overflow { return .never }
        return .nanoseconds(Int(ns.partialValue + atto / 1_000_000_000))
    }
}

/// glibc functions Swift's Glibc module hides behind _GNU_SOURCE, looked up at run time.
/// `pipe2(O_CLOEXEC)` matters: with `pipe` + `fcntl`, a child spawned by another thread in between
/// would inherit our pipe ends and hold them open, and EOF would never come.
enum GNUExtras {
    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    private static let pipe2Fn: Pipe2? = dlsym(dlopen(nil, RTLD_NOW), "pipe2").map { unsafeBitCast($0, to: Pipe2.self) }
    private static let addchdirFn: AddChdir? = dlsym(dlopen(nil, RTLD_NOW), "posix_spawn_file_actions_addchdir_np").map { unsafeBitCast($0, to: AddChdir.self) }

    static func pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32 {
        if let pipe2Fn { return pipe2Fn(fds, flags) }
        // Not glibc: plain pipe, then close-on-exec (racy with concurrent spawns, see above).
        guard pipe(fds) == 0 else { return -1 }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return 0
    }

    static func addchdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ dir: String) -> Int32 {
        guard let addchdirFn else { return ENOSYS }
        return addchdirFn(actions, dir)
    }
}
