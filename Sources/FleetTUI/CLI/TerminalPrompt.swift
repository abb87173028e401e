import Foundation
import FleetModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The controlling terminal (`/dev/tty`, where ssh and sudo ask too): the one place that writes a
/// question there and reads the answer, without echo when it is secret.
enum TerminalInput {
    /// The terminal, open for reading and writing; nil without one. The caller closes it.
    static func terminal() -> Int32? {
        let fd = open("/dev/tty", O_RDWR | O_CLOEXEC)
        return fd >= 0 ? fd : nil
    }

    /// Writes `prompt`, then reads one line (`multiline`: until Ctrl-D), echo off when `hidden`.
    /// nil when the terminal reached EOF before any byte.
    static func line(_ fd: Int32, prompt: String, hidden: Bool, multiline: Bool = false) -> String? {
        put(fd, prompt)
        var saved = termios()
        if hidden {
            tcgetattr(fd, &saved)
            var t = saved
            t.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(fd, TCSAFLUSH, &t)
        }
        defer { if hidden { tcsetattr(fd, TCSAFLUSH, &saved); put(fd, "\n") } }
        var out: [UInt8] = []
        defer { for i in out.indices { out[i] = 0 } }
        var byte: UInt8 = 0
        while true {
            let n = read(fd, &byte, 1)
            if n <= 0 { if out.isEmpty { return nil }; break }  // EOF (Ctrl-D at line start ends multiline input)
            if byte == 0x0A && !multiline { break }
            out.append(byte)
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func put(_ fd: Int32, _ s: String) {
        let b = Array(s.utf8)
        _ = b.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}

/// Reads a prompt answer from the controlling terminal; hidden kinds without echo and confirmed
/// twice, multiline kinds until Ctrl-D — as clan's `ask` does.
enum TerminalPrompt {
    static func ask(_ req: PromptRequest) throws -> String {
        guard let fd = TerminalInput.terminal() else {
            throw CLIError("fleet: prompt \(req.generator.name)/\(req.prompt.name) needs an answer and there is no terminal; pass --prompt-value \(req.generator.name).\(req.prompt.name)=@FILE")
        }
        defer { close(fd) }
        let first = read(fd, req, label: req.text)
        if req.prompt.kind.isHidden {
            let again = read(fd, req, label: "Confirm \(req.generator.name)/\(req.prompt.name):")
            guard again == first else { throw CLIError("fleet: the two answers for \(req.generator.name)/\(req.prompt.name) differ") }
        }
        return first
    }

    private static func read(_ fd: Int32, _ req: PromptRequest, label: String) -> String {
        let multiline = req.prompt.kind.isMultiline
        return TerminalInput.line(fd, prompt: label + (multiline ? " (end with Ctrl-D)\n" : " "),
                                  hidden: req.prompt.kind.isHidden, multiline: multiline) ?? ""
    }
}
