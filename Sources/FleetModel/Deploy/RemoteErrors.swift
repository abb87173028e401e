import Foundation

/// Turns the stderr of a failed ssh / nix / remote command into the one line a person needs.
public enum ErrorText {
    /// ssh's own failures (exit 255): the last line that is not banner noise, with a hint for host
    /// key problems (the warning banner of a changed key is 20 lines of `@`).
    public static func ssh(_ stderr: String) -> String {
        let lines = meaningfulLines(stderr).filter { !$0.hasPrefix("Warning: Permanently added") }
        let last = lines.last ?? "ssh failed without a message"
        if stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") {
            return "host key mismatch (REMOTE HOST IDENTIFICATION HAS CHANGED): \(last)"
        }
        if stderr.contains("No ED25519 host key is known") || stderr.contains("No ECDSA host key is known")
            || stderr.contains("No RSA host key is known") || (stderr.contains("host key") && last.contains("Host key verification failed")) {
            return "unknown host key (not in known_hosts; --host-key-check accept-new trusts it on first use): \(last)"
        }
        return last
    }

    /// A remote or local command that exited non-zero: `switch-to-configuration exited 1: <last line>`.
    public static func command(_ argv: [String], status: Int32, stderr: String) -> String {
        func base(_ p: String) -> String { (p as NSString).lastPathComponent }
        var words = argv
        if words.first == "systemd-run", let dd = words.firstIndex(of: "--") { words = Array(words[(dd + 1)...]) }
        var what = words.first.map(base) ?? "command"
        if what == "switch-to-configuration" || what == "nix-env", words.count > 1 {
            what += " " + (what == "nix-env" ? words.dropFirst().filter { $0.hasPrefix("--") }.joined(separator: " ") : words[1])
        }
        let last = meaningfulLines(stderr).last
        return "\(what) exited \(status)" + (last.map { ": \($0)" } ?? "")
    }

    /// nix's failure: its last error message, else the last stderr line.
    public static func nix(errors: [String], stderrLines: [String], status: Int32) -> String {
        if let e = errors.last {
            let firstLine = e.split(whereSeparator: \.isNewline).first.map(String.init) ?? e
            return firstLine.hasPrefix("error: ") ? String(firstLine.dropFirst(7)) : firstLine
        }
        let plain = stderrLines.map { NixLogParser.stripANSI($0) }.filter { !$0.hasPrefix("@nix ") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        // A top-level error nix prints as text: its `error:` line, not the indented hint after it.
        let line = plain.last { $0.hasPrefix("error: ") } ?? plain.last
        return "nix exited \(status)" + (line.map { ": \($0)" } ?? "")
    }

    static func meaningfulLines(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.allSatisfy { $0 == "@" } && !$0.hasPrefix("@@@") }
    }
}

/// Replaces secret values in log lines. Logs are kept in history and shown on screen; a secret
/// that a remote command echoes back must not end up there.
public struct Redactor: Sendable {
    private let needles: [String]
    public static let mask = "********"

    /// Values shorter than 6 characters are not masked (they would mask ordinary words).
    public init(secrets: [[UInt8]]) {
        var n: [String] = []
        for s in secrets {
            let text = String(decoding: s, as: UTF8.self)
            for part in [text, text.trimmingCharacters(in: .whitespacesAndNewlines)] + text.split(whereSeparator: \.isNewline).map(String.init)
            where part.trimmingCharacters(in: .whitespaces).count >= 6 && !n.contains(part) {
                n.append(part)
            }
        }
        needles = n.sorted { $0.count > $1.count }
    }

    public func redact(_ line: String) -> String {
        guard !needles.isEmpty else { return line }
        var out = line
        for n in needles where out.contains(n) { out = out.replacingOccurrences(of: n, with: Self.mask) }
        return out
    }
}
