/// Validation of every name that ends up in a path or a command: machine, tag, instance, user,
/// generator and file names. Call it before building a path or an argv from a name that came from an
/// inventory, a generator definition, the command line or the UI.
///
/// The allowed characters mirror clan-core (checked against clan-lol/clan-core d7c35d9):
/// - machine: `clan_lib/machines/machine_name.py` `VALID_MACHINE_NAME =
///   ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$` (case-insensitive), at most 63 characters
///   (`MAX_MACHINE_NAME_LENGTH`); `clan_lib/validator/hostname.py` uses the same hostname rule.
/// - user (and group, `sops/users/<u>`, `sops/groups/<g>`): `clan_cli/secrets/types.py`
///   `VALID_USER_NAME = ^[a-z_]([a-z0-9_-]{0,31})?$`, at most 32 characters.
/// - generator and file: the nix module (`clanCore/vars/interface.nix`) takes any attribute name, but
///   both become directories under `vars/` that clan stores as sops secrets, whose names clan checks
///   with `VALID_SECRET_NAME = ^[a-zA-Z0-9._-]+$` (`clan_cli/secrets/types.py`). `.` and `..` match
///   that pattern and are rejected here on top.
/// - tag and instance: free-form attribute names in `modules/inventoryClass/inventory.nix`; we use
///   the character set clan uses for other inventory identifiers (`meta.name`:
///   `[a-zA-Z0-9_-]*` in `modules/inventoryClass/meta.nix`, `clan.core.state` names:
///   `^[a-zA-Z0-9_-]+$`), non-empty.
/// On top of the character sets every kind rejects: empty, leading `-` (would read as an option in an
/// argv), `/`, `..`, shell metacharacters and control characters, each with its own error.
public enum NameKind: String, Sendable, CaseIterable {
    case machine, tag, instance, user, generator, file

    /// The largest allowed length in UTF-8 bytes (all allowed characters are ASCII).
    var maxLength: Int {
        switch self {
        case .machine: return 63
        case .user: return 32
        case .tag, .instance, .generator, .file: return 255  // NAME_MAX of a path component
        }
    }

    func allows(_ b: UInt8, at index: Int, count: Int) -> Bool {
        let lower = (0x61...0x7A).contains(b), upper = (0x41...0x5A).contains(b)
        let digit = (0x30...0x39).contains(b)
        let dash = b == 0x2D, underscore = b == 0x5F, dot = b == 0x2E
        switch self {
        case .machine:
            // Hostname label: letters, digits, dashes; no dash at either end.
            if dash { return index != 0 && index != count - 1 }
            return lower || upper || digit
        case .user:
            if index == 0 { return lower || underscore }
            return lower || digit || underscore || dash
        case .tag, .instance:
            return lower || upper || digit || underscore || dash
        case .generator, .file:
            return lower || upper || digit || underscore || dash || dot
        }
    }
}

/// Why a name was refused. `value` is the name as given; `description` shows it escaped so that
/// control characters and escape sequences cannot reach a terminal or a log verbatim.
public struct NameError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        case empty
        case tooLong(max: Int)
        case leadingDash
        case slash
        case dotDot
        case controlCharacter(UInt32)
        case shellMetacharacter(Character)
        case disallowedCharacter(Character)
    }

    public let kind: NameKind
    public let value: String
    public let reason: Reason

    public var description: String {
        "invalid \(kind.rawValue) name \(NameError.escape(value)): \(explanation)"
    }

    var explanation: String {
        switch reason {
        case .empty: return "the name is empty"
        case .tooLong(let max): return "longer than \(max) characters"
        case .leadingDash: return "starts with '-' (would be read as an option)"
        case .slash: return "contains '/'"
        case .dotDot: return "is or contains '..'"
        case .controlCharacter(let c): return "contains the control character U+\(hex4(c))"
        case .shellMetacharacter(let c): return "contains the shell metacharacter \(NameError.escape(String(c)))"
        case .disallowedCharacter(let c):
            return "contains \(NameError.escape(String(c))); allowed: \(NameError.allowedText(kind))"
        }
    }

    static func allowedText(_ kind: NameKind) -> String {
        switch kind {
        case .machine: return "a-z, A-Z, 0-9 and '-' (not first or last), as in a hostname"
        case .user: return "a-z, 0-9, '_' and '-', starting with a-z or '_'"
        case .tag, .instance: return "a-z, A-Z, 0-9, '_' and '-'"
        case .generator, .file: return "a-z, A-Z, 0-9, '.', '_' and '-'"
        }
    }

    /// Double-quoted, with `"`, `\` and everything outside printable ASCII escaped.
    public static func escape(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value >= 0x20 && u.value < 0x7F { out.unicodeScalars.append(u) }
                else { out += "\\u{\(String(u.value, radix: 16, uppercase: true))}" }
            }
        }
        return out + "\""
    }
}

private func hex4(_ v: UInt32) -> String {
    let h = String(v, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 4 - h.count)) + h
}

public enum NameValidation {
    /// Characters a POSIX shell gives a meaning to (plus space, which splits words).
    static let shellMetacharacters: Set<Character> = [
        ";", "&", "|", "$", "`", "\\", "\"", "'", "<", ">", "(", ")", "{", "}", "[", "]",
        "*", "?", "!", "#", "~", "=", "%", "^", " ",
    ]

    /// Returns `name` unchanged when it is a valid name of `kind`, throws `NameError` otherwise.
    /// The checks run from the most to the least specific reason so the error names the real problem.
    @discardableResult
    public static func validate(_ name: String, as kind: NameKind) throws -> String {
        // Fast path for the common case (plain ASCII names, 10k of them per inventory load): one byte
        // loop accepting exactly what the checks below accept. Anything else takes the full path,
        // which also finds the reason for an error. (Foundation's `contains` was 4% of a 10k load.)
        if isPlainValid(name, as: kind) { return name }
        func fail(_ r: NameError.Reason) -> NameError { NameError(kind: kind, value: name, reason: r) }
        if name.isEmpty { throw fail(.empty) }
        for u in name.unicodeScalars where u.value < 0x20 || (0x7F...0x9F).contains(u.value)
            || u.value == 0x2028 || u.value == 0x2029 {
            throw fail(.controlCharacter(u.value))
        }
        if name.hasPrefix("-") { throw fail(.leadingDash) }
        if name.contains("/") { throw fail(.slash) }
        if name.contains("..") { throw fail(.dotDot) }
        if let c = name.first(where: { shellMetacharacters.contains($0) }) { throw fail(.shellMetacharacter(c)) }
        let bytes = Array(name.utf8)
        var i = 0
        for ch in name {
            for b in ch.utf8 {
                // Report the whole character (a multi-byte one included), not a byte.
                if !kind.allows(b, at: i, count: bytes.count) { throw fail(.disallowedCharacter(ch)) }
                i += 1
            }
        }
        if name == "." { throw fail(.disallowedCharacter(".")) }
        if bytes.count > kind.maxLength { throw fail(.tooLong(max: kind.maxLength)) }
        return name
    }

    /// Letters, digits, `-`, `_`, `.` as `kind` allows them, no leading dash, no `..`, not `.`, not too
    /// long: none of these can be a control character, slash or shell metacharacter.
    private static func isPlainValid(_ name: String, as kind: NameKind) -> Bool {
        var name = name
        return name.withUTF8 { buf in
            let n = buf.count
            guard n > 0, n <= kind.maxLength, buf[0] != 0x2D, !(n == 1 && buf[0] == 0x2E) else { return false }
            var previousDot = false
            for i in 0..<n {
                let b = buf[i]
                guard kind.allows(b, at: i, count: n) else { return false }
                if b == 0x2E && previousDot { return false }
                previousDot = b == 0x2E
            }
            return true
        }
    }
}
