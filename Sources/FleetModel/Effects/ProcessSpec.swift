/// What to run: an argv array (never a shell string) and its environment.
public struct ProcessSpec: Sendable, Equatable {
    /// `argv[0]` is looked up on `PATH` (the spec's own `PATH` when `environment` sets one) unless it
    /// contains a `/`.
    public var argv: [String]
    /// The complete environment of the child; nil inherits ours.
    public var environment: [String: String]?
    /// Directory the child starts in; nil keeps ours.
    public var workingDirectory: String?
    /// Bytes written to the child's stdin, which is then closed. Nil gives the child `/dev/null`, so a
    /// child never reads the dashboard's terminal.
    public var stdin: [UInt8]?
    /// A stdin pipe that stays open while the child runs, written through the channel (an
    /// interactive session such as the sudo askpass proxy). Wins over `stdin`.
    public var stdinChannel: StdinChannel?
    /// Wall-clock limit; when it passes the whole process group is terminated and the result says
    /// `timedOut`.
    public var timeout: Duration?
    /// When the first process exits, terminate what is left of its process group (background jobs it
    /// started). Without this, a leftover that keeps stdout open would hold the call forever.
    public var terminateGroupOnExit: Bool
    /// Time between SIGTERM and SIGKILL when the group is torn down.
    public var killGracePeriod: Duration

    public init(argv: [String], environment: [String: String]? = nil, workingDirectory: String? = nil,
                stdin: [UInt8]? = nil, stdinChannel: StdinChannel? = nil, timeout: Duration? = nil,
                terminateGroupOnExit: Bool = true, killGracePeriod: Duration = .seconds(2)) {
        self.argv = argv
        self.stdinChannel = stdinChannel
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.stdin = stdin
        self.timeout = timeout
        self.terminateGroupOnExit = terminateGroupOnExit
        self.killGracePeriod = killGracePeriod
    }

    /// Convenience: `ProcessSpec("git", "status")`.
    public init(_ argv: String...) { self.init(argv: argv) }
}

/// How a process ended and what it wrote.
public struct ProcessResult: Sendable, Equatable {
    /// The exit code, or 128 + signal number when a signal ended it (as shells report it).
    public var status: Int32
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    /// True when `ProcessSpec.timeout` ran out and fleet terminated the process group.
    public var timedOut: Bool
    /// The child's pid, which is also its process group id.
    public var processGroup: Int32

    public init(status: Int32, stdout: [UInt8], stderr: [UInt8], timedOut: Bool, processGroup: Int32) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.timedOut = timedOut
        self.processGroup = processGroup
    }

    public var succeeded: Bool { status == 0 && !timedOut }
    public var stdoutString: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrString: String { String(decoding: stderr, as: UTF8.self) }
}

public enum ProcessError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The program is not on PATH (or the given path does not exist / is not executable).
    case notFound(program: String, searchPath: String)
    case emptyArgv
    case workingDirectoryMissing(String)
    /// posix_spawn or pipe creation failed.
    case spawnFailed(program: String, message: String)

    public var description: String {
        switch self {
        case .notFound(let p, let path):
            return p.contains("/") ? "\(p): no such executable" : "\(p): command not found (searched PATH=\(path))"
        case .emptyArgv: return "no program given (empty argv)"
        case .workingDirectoryMissing(let d): return "\(d): working directory does not exist"
        case .spawnFailed(let p, let m): return "\(p): cannot start: \(m)"
        }
    }
}
