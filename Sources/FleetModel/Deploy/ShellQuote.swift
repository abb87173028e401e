import Foundation

/// The one place where fleet turns words into POSIX shell text.
///
/// ssh has no argv on the remote side: it joins its arguments with spaces and hands the string to the
/// remote user's login shell (`sh -c`). So every remote command is built as an argv and quoted here,
/// word by word, before it goes to ssh. Locally fleet never uses a shell (argv arrays only).
public enum ShellQuote {
    /// Characters that never need quoting in any POSIX shell (and in bash, zsh, fish for that matter).
    private static let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=./:,@%^")

    /// One word: unchanged when it is made of safe characters only, else in single quotes with each
    /// `'` written as `'\''`. The empty string becomes `''`.
    public static func quote(_ word: String) -> String {
        if !word.isEmpty, word.allSatisfy({ safe.contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// An argv as one shell command line.
    public static func join(_ argv: [String]) -> String {
        argv.map(quote).joined(separator: " ")
    }
}
