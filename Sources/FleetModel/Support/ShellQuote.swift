/// Quoting of an argv for a remote POSIX shell. ssh runs its remote command as one string through the
/// remote user's login shell (`$SHELL -c "<string>"`), so an argv sent over ssh must be turned into a
/// string that a POSIX shell splits back into exactly the same words. This is the ONE function that does
/// it; everything that builds a remote command goes through `ShellQuote.command`.
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

    /// The argv as one string for `ssh host -- <string>` (or `sh -c <string>`).
    public static func command(_ argv: [String]) throws -> String {
        guard !argv.isEmpty else { throw Failure.emptyCommand }
        var out = ""
        for (i, word) in argv.enumerated() {
            if word.utf8.contains(0) { throw Failure.nulByte(argument: i) }
            if i > 0 { out += " " }
            out += quote(word)
        }
        return out
    }

    /// One word, single-quoted unless it consists only of characters no shell treats specially.
    static func quote(_ word: String) -> String {
        if !word.isEmpty && word.utf8.allSatisfy(isPlain) { return word }
        return "'" + word.replacingAll("'", with: #"'\''"#) + "'"
    }

    private static func isPlain(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "/"),
             UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: ","), UInt8(ascii: "+"):
            return true
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
