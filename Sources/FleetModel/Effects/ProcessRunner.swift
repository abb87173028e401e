import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs external programs for fleet: `nix`, `git`, `ssh`, `age`, `sops`…
///
/// Every child starts in its own process group, so a timeout or the cancellation of the calling
/// Swift task can terminate the whole tree (SIGTERM to the group, SIGKILL after a grace period), and
/// the terminal's Ctrl-C reaches the dashboard, not the children. The child itself is always reaped.
///
/// Built on `posix_spawn` rather than swift-subprocess 1.0.2: its teardown sequence
/// (Teardown.swift `runTeardownSequence`) stops as soon as the group *leader* has exited, so a
/// grandchild that outlives its parent (`sh -c 'sleep 100 & …'`) keeps running — and keeps the output
/// pipe open, so a collected-output call never returns. It also has no timeouts. Here the group is
/// signalled for as long as any member lives, independently of the leader.
public final class ProcessRunner: Sendable {
    public init() { Self.ignoreSIGPIPE }

    private static let log = FleetLog.logger("fleet.process")

    /// A write to a child's stdin after the child closed it must fail with EPIPE, not kill fleet.
    /// (Children get SIGPIPE back at its default: see POSIX_SPAWN_SETSIGDEF below.)
    private static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN); () }()

    /// Runs to completion and returns the collected output.
    public func run(_ spec: ProcessSpec) async throws -> ProcessResult {
        try await stream(spec, onStdoutLine: { _ in }, onStderrLine: { _ in })
    }

    /// Runs to completion, handing each line of output (without its `\n`) to the callbacks as it
    /// arrives, in order per stream, and returns the collected output too. A last line without `\n`
    /// is delivered at EOF. Throws `CancellationError` when the task is cancelled (after the process
    /// group is gone).
    public func stream(_ spec: ProcessSpec,
                       onStdoutLine: @escaping @Sendable (String) -> Void,
                       onStderrLine: @escaping @Sendable (String) -> Void) async throws -> ProcessResult {
        try Task.checkCancellation()
        // argv only: secrets reach children through stdin or files, never their command line (the
        // hygiene test samples every child's cmdline); the environment is not logged.
        let started = ContinuousClock.now
        let child: ChildProcess
        do {
            child = try ChildProcess.launch(spec, onStdoutLine: onStdoutLine, onStderrLine: onStderrLine)
        } catch {
            Self.log.warning("cannot start \(ShellQuote.join(spec.argv)): \(error)")
            throw error
        }
        let result = await withTaskCancellationHandler {
            await child.result()
        } onCancel: {
            child.terminate(reason: .cancelled)
        }
        let how = child.wasCancelled ? "cancelled" : result.timedOut ? "timed out" : "exit \(result.status)"
        Self.log.debug("\(ShellQuote.join(spec.argv)): \(how) after \(started.duration(to: .now)) (pgid \(result.processGroup))")
        if child.wasCancelled { throw CancellationError() }
        return result
    }

    /// Finds `program` the way `execvp` would; nil when it is not there.
    public static func resolveExecutable(_ program: String, path: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        for dir in path.split(separator: ":", omittingEmptySubsequences: false) {
            let d = dir.isEmpty ? "." : String(dir)
            let candidate = d + "/" + program
            var st = stat()
            if stat(candidate, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        return nil
    }
}
