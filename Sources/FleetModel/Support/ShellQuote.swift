/// Quoting of an argv for a remote POSIX shell. ssh runs its remote command as one string through the
/// remote user's login shell (`$SHELL -c "<string>"`), so an argv sent over ssh must be turned into a
/// string that a POSIX shell splits back into exactly the same words. This is the ONE place that does
/// it: `command` (checked) and `join` (the same text, unchecked, also for logs) over `quote`.
/// Quoting works on bytes/Unicode scalars, never on Characters: a `'` followed by a combining mark is
/// one Character that is not equal to "'", yet the shell sees the quote byte (fuzz/ShellQuoteTests).
///
/// Every word is put in single quotes, inside which a POSIX shell interprets nothing; a single quote in
/// the word closes the quotes, adds an escaped quote and reopens them (`'` → `'\''`). Newlines, `$`,
/// backticks, backslashes and non-ASCII text need nothing else. The result is for sh/bash/dash/zsh
/// (the login shells of NixOS and nix-darwin root); fish treats `\\` inside single quotes differently, so a
/// remote fish login shell is not supported for words containing a backslash.
public enum ShellQuote {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case emptyCommand
        /// A NUL cannot be passed in an argv at all; the word is cut there by the kernel.
        case nulByte(argument: Int)

        public var description: String {
            switch self {
            case .emptyCommand: return "remote command is empty"
            case .nulByte(let i): return "remote command argument \(i) contains a NUL byte"
            }
        }
    }

    /// The argv as one string for `ssh host -- <string>` (or `sh -c <string>`), checked: an empty argv
    /// or a NUL byte (which the kernel would cut the ssh argument at) is an error.
    public static func command(_ argv: [String]) throws -> String {
        guard !argv.isEmpty else { throw Failure.emptyCommand }
        if let i = argv.firstIndex(where: { $0.utf8.contains(0) }) { throw Failure.nulByte(argument: i) }
        return join(argv)
    }

    /// The argv as one command line, words quoted one by one. For display and logs too (`$ …`).
    /// The first word is quoted when it holds `=`, so it can never be taken as an assignment.
    public static func join(_ argv: [String]) -> String {
        argv.enumerated().map { i, w in
            i == 0 && w.utf8.contains(UInt8(ascii: "=")) ? singleQuoted(w) : quote(w)
        }.joined(separator: " ")
    }

    /// One word: unchanged when it is made only of characters no POSIX shell treats specially
    /// (`=` and `%` only after the first character), else in single quotes. `''` for the empty word.
    public static func quote(_ word: String) -> String {
        var plain = !word.isEmpty
        for (i, b) in word.utf8.enumerated() where !isPlain(b, first: i == 0) { plain = false; break }
        return plain ? word : singleQuoted(word)
    }

    /// Inside single quotes a POSIX shell interprets nothing; a `'` in the word closes the quotes,
    /// adds an escaped quote and reopens them (`'` → `'\''`).
    static func singleQuoted(_ word: String) -> String {
        "'" + word.replacingAll("'", with: #"'\''"#) + "'"
    }

    private static func isPlain(_ b: UInt8, first: Bool) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "/"),
             UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: ","), UInt8(ascii: "+"):
            return true
        case UInt8(ascii: "="), UInt8(ascii: "%"):
            return !first  // `=cmd` is a zsh expansion, `%1` a job spec
        default:
            return false
        }
    }
}

private extension String {
    /// Works on Unicode scalars, not Characters: a quote followed by a combining mark is one Character
    /// that is not equal to "'", yet the shell still sees the quote byte.
    func replacingAll(_ target: Unicode.Scalar, with replacement: String) -> String {
        var out = String.UnicodeScalarView()
        for u in unicodeScalars {
            if u == target { out.append(contentsOf: replacement.unicodeScalars) } else { out.append(u) }
        }
        return String(out)
    }
}
