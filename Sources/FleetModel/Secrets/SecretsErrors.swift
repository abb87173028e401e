import Foundation

/// Why an age operation failed. The cases mirror the outcome classes of the C2SP age testkit
/// (`header failure`, `no match`, `HMAC failure`, `payload failure`, `armor failure`) so a caller
/// (and the conformance test) can tell a malformed file from a key that does not fit.
public enum AgeError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The header does not follow the age v1 grammar (or an X25519 stanza is malformed).
    case header(String)
    /// The header parsed, but none of the identities could unwrap any stanza.
    case noMatch(String)
    /// A file key was unwrapped but the header MAC does not match: the header was altered.
    case hmac
    /// The STREAM payload failed to authenticate or is truncated / has trailing data.
    case payload(String)
    /// The ASCII armor is malformed.
    case armor(String)
    /// A recipient or identity string is not a valid Bech32 age key.
    case invalidKey(String)
    /// Anything else (I/O, no recipients).
    case other(String)

    public var description: String {
        switch self {
        case .header(let m): return "malformed age header: \(m)"
        case .noMatch(let m): return "no identity matched any recipient of the age file: \(m)"
        case .hmac: return "age header MAC mismatch: the header was tampered with or corrupted"
        case .payload(let m): return "age payload failed to decrypt: \(m)"
        case .armor(let m): return "invalid age armor: \(m)"
        case .invalidKey(let m): return "invalid age key: \(m)"
        case .other(let m): return m
        }
    }
}

/// A sops or clan-key-store failure. `file` names the file (and `field` the JSON path) when known.
public struct SopsError: Error, CustomStringConvertible, Sendable {
    public var file: String?
    public var field: String?
    public var message: String

    public init(_ message: String, file: String? = nil, field: String? = nil) {
        self.message = message
        self.file = file
        self.field = field
    }

    public var description: String {
        var where_ = ""
        if let file { where_ += file }
        if let field { where_ += where_.isEmpty ? "field \(field)" : ", field \(field)" }
        return where_.isEmpty ? message : "\(where_): \(message)"
    }

    /// The same error, attributed to `file` unless it already names one.
    func inFile(_ path: String) -> SopsError {
        var e = self
        if e.file == nil { e.file = path }
        return e
    }
}

extension Error {
    /// Attribute any secrets error to a file, keeping its message.
    func attributed(to path: String) -> SopsError {
        if let s = self as? SopsError { return s.inFile(path) }
        return SopsError("\(self)", file: path)
    }
}
