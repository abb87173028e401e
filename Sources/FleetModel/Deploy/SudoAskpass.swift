import Foundation
import Synchronization

/// Root on a host whose ssh user is not root, the way clan does it (`Remote.become_root`,
/// clan_lib/ssh/remote.py:194-253, sudo_askpass_proxy.{sh,py}): one extra ssh session (through the
/// host's ControlMaster, so no new handshake) runs a small script that creates a private askpass
/// program and two FIFOs; every root command then runs as `env SUDO_ASKPASS=<it> sudo -A -- argv`.
/// When sudo wants a password the askpass program writes sudo's prompt into one FIFO, the script
/// prints `PASSWORD_REQUESTED: <prompt>`, fleet asks the user (`DeployInteraction`) and writes the
/// answer to the session's stdin, and the script hands it to askpass through the other FIFO. So the
/// password travels only over ssh's stdin and FIFOs: never an argv, an environment, a log or a file.
///
/// Differences from clan's script, all for robustness: `IFS= read -r` and `printf` instead of `read
/// -r` and `echo` (a password with leading blanks, a backslash or `-n` arrives intact); the script
/// prints its pid so fleet can stop it at the end (a session without a pty does not get SIGHUP).
///
/// sudo without a terminal keeps no timestamp across ssh sessions, so it asks on every root
/// command. fleet asks the user once per host and run, answers later requests from memory, and asks
/// again only when sudo repeats a request within one command (the answer was wrong).
final class SudoAskpass: Sendable {
    static let remoteScript = """
        set -euo pipefail
        tmpdir=$(mktemp -d)
        trap 'rm -rf "$tmpdir"' EXIT
        trap 'exit 0' TERM HUP INT
        prompt_fifo="$tmpdir/prompt_fifo"
        password_fifo="$tmpdir/password_fifo"
        mkfifo -m600 "$prompt_fifo"
        mkfifo -m600 "$password_fifo"
        askpass_script="$tmpdir/askpass.sh"
        cat >"$askpass_script" <<EOF
        #!/bin/sh
        set -eu
        prompt="\\${1:-[sudo] password:}"
        printf '%s\\n' "\\$prompt" > "$prompt_fifo"
        IFS= read -r password < "$password_fifo" || true
        if [ "\\$password" = "CANCELED" ]; then
          exit 1
        fi
        printf '%s\\n' "\\$password"
        EOF
        chmod 700 "$askpass_script"
        echo "ASKPASS_PID: $$"
        echo "ASKPASS_SCRIPT: $askpass_script"
        exec 3<>"$prompt_fifo"
        while IFS= read -r PROMPT <&3; do
          echo "PASSWORD_REQUESTED: $PROMPT"
          IFS= read -r password || exit 0
          printf '%s\\n' "$password" >"$password_fifo"
        done
        """

    /// Why the last root command could not get a password.
    enum Refusal: Equatable, Sendable {
        /// Nobody to ask (headless, no terminal).
        case nobodyToAsk
        /// The user cancelled the prompt.
        case cancelled
    }

    private struct State {
        var scriptPath: String?
        var remotePID: Int?
        var finished = false
        var ready: CheckedContinuation<Void, Never>?
        var cached: String?
        var answeredFromCache = false
        var answersThisCommand = 0
        var refusal: Refusal?
    }

    let host: String
    let target: SSHTarget
    let interaction: DeployInteraction?
    private let channel = StdinChannel()
    private let state = Mutex(State())
    private let process = Mutex<Task<Void, Never>?>(nil)

    init(host: String, target: SSHTarget, interaction: DeployInteraction?) {
        self.host = host
        self.target = target
        self.interaction = interaction
    }

    /// The session argv: `bash -c <script>` (bash, as clan forces, for users whose shell is fish).
    static func sessionArgv(_ target: SSHTarget, _ ssh: SSHSettings) -> [String] {
        SSHCommand.argv(target, ssh, remote: ["bash", "-c", remoteScript])
    }

    /// What goes before a root command.
    static func prefix(scriptPath: String) -> [String] {
        ["env", "SUDO_ASKPASS=\(scriptPath)", "sudo", "-A", "--"]
    }

    var remotePID: Int? { state.withLock { $0.remotePID } }
    var scriptPath: String? { state.withLock { $0.scriptPath } }

    /// Starts the session and waits (at most `timeout`) until the remote askpass program exists.
    /// Returns its path; nil when the session ended or timed out first (`stderr` says why).
    func start(runner: ProcessRunner, ssh: SSHSettings, environment: [String: String]?,
               timeout: Duration) async -> (path: String?, stderr: String) {
        let (lines, linesIn) = AsyncStream.makeStream(of: String.self)
        let stderrTail = Mutex<[String]>([])
        let spec = ProcessSpec(argv: Self.sessionArgv(target, ssh), environment: environment, stdinChannel: channel)
        let task = Task.detached { [self] in
            async let consumed: Void = { for await line in lines { await self.handle(line) } }()
            _ = try? await runner.stream(spec, onStdoutLine: { linesIn.yield($0) }, onStderrLine: { line in
                stderrTail.withLock { $0 = Array(($0 + [line]).suffix(20)) }
            })
            linesIn.finish()
            await consumed
            self.markFinished()
        }
        process.withLock { $0 = task }
        let timer = Task.detached { [self] in
            try? await Task.sleep(for: timeout)
            markFinished()
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.scriptPath != nil || s.finished { return true }
                s.ready = c
                return false
            }
            if resumeNow { c.resume() }
        }
        timer.cancel()
        return (state.withLock { $0.scriptPath }, stderrTail.withLock { $0.joined(separator: "\n") })
    }

    private func markFinished() {
        let c = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.finished = true
            defer { s.ready = nil }
            return s.ready
        }
        c?.resume()
    }

    private func handle(_ raw: String) async {
        let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if let v = Self.value(line, "ASKPASS_PID:") {
            state.withLock { $0.remotePID = Int(v) }
        } else if let v = Self.value(line, "ASKPASS_SCRIPT:") {
            let c = state.withLock { s -> CheckedContinuation<Void, Never>? in
                s.scriptPath = v
                defer { s.ready = nil }
                return s.ready
            }
            c?.resume()
        } else if let prompt = Self.value(line, "PASSWORD_REQUESTED:") {
            answer(await password(for: prompt))
        }
    }

    private static func value(_ line: String, _ key: String) -> String? {
        line.hasPrefix(key) ? String(line.dropFirst(key.count)).trimmingCharacters(in: .whitespaces) : nil
    }

    /// The answer for one request: from memory once per command, else from the user.
    private func password(for prompt: String) async -> String? {
        let (fromCache, retry) = state.withLock { s -> (String?, Bool) in
            defer { s.answersThisCommand += 1 }
            if let c = s.cached, !s.answeredFromCache {
                s.answeredFromCache = true
                return (c, false)
            }
            return (nil, s.answersThisCommand > 0)
        }
        if let fromCache { return fromCache }
        guard let interaction else {
            state.withLock { $0.refusal = .nobodyToAsk }
            return nil
        }
        let req = SudoPasswordRequest(host: host, target: target.description, prompt: prompt.isEmpty ? "[sudo] password:" : prompt, retry: retry)
        guard let pw = await interaction.sudoPassword(req) else {
            state.withLock { $0.refusal = .cancelled }
            return nil
        }
        // One line: askpass reads up to the first newline.
        let clean = String(pw.prefix { $0 != "\n" && $0 != "\r" })
        state.withLock { $0.cached = clean; $0.answeredFromCache = true }
        return clean
    }

    private func answer(_ password: String?) {
        channel.send(Array(((password ?? "CANCELED") + "\n").utf8))
    }

    /// Called before each root command.
    func beginCommand() {
        state.withLock { s in
            s.answeredFromCache = false
            s.answersThisCommand = 0
            s.refusal = nil
        }
    }

    var refusal: Refusal? { state.withLock { $0.refusal } }

    /// A clear one-line reason when a root command failed because of sudo; nil when sudo was not
    /// the problem.
    func failureMessage(stderr: String) -> String? {
        let who = "\(target.user) on \(host)"
        switch refusal {
        case .nobodyToAsk:
            return "sudo asks for the password of \(who) and there is no terminal to ask on: run fleet deploy from a terminal or the dashboard, or give \(target.user) passwordless sudo"
        case .cancelled:
            return "sudo password for \(who) not given (cancelled)"
        case nil: break
        }
        if stderr.contains("incorrect password attempt") { return "sudo refused the password of \(who) (incorrect password)" }
        if stderr.contains("is not in the sudoers file") || stderr.contains("is not allowed to run sudo") {
            return "\(target.user) may not use sudo on \(host) (sudoers)"
        }
        if stderr.contains("sudo: command not found") || stderr.contains("sudo: not found") {
            return "\(host) has no sudo, which a deploy as \(target.user) (not root) needs"
        }
        return nil
    }

    /// Ends the session: the remote script is stopped by pid (so nothing is left on the host), our
    /// stdin closed, and the local ssh client ended.
    func stop(runner: ProcessRunner, ssh: SSHSettings, environment: [String: String]?) async {
        if let pid = remotePID {
            let spec = ProcessSpec(argv: SSHCommand.argv(target, ssh, remote: ["kill", "-TERM", String(pid)]),
                                   environment: environment, timeout: .seconds(10))
            _ = try? await runner.run(spec)
        }
        channel.finish()
        let task = process.withLock { t -> Task<Void, Never>? in defer { t = nil }; return t }
        guard let task else { return }
        // The client ends by itself once the script is gone; a stuck one is cancelled after a while.
        let killer = Task.detached { try? await Task.sleep(for: .seconds(5)); task.cancel() }
        await task.value
        killer.cancel()
        state.withLock { $0.cached = nil }
    }
}
