@preconcurrency import Crypto
import Foundation

/// An X25519 age recipient, `age1…` (Bech32, HRP `age`, 32-byte public key).
public struct AgeRecipient: Hashable, Sendable, CustomStringConvertible {
    /// The 32-byte X25519 public key.
    public let publicKey: [UInt8]

    public init(publicKey: [UInt8]) throws {
        guard publicKey.count == 32 else { throw AgeError.invalidKey("an X25519 public key has 32 bytes, not \(publicKey.count)") }
        self.publicKey = publicKey
    }

    public init(parsing string: String) throws {
        let s = string.trimmingCharacters(in: .whitespaces)
        // Bech32 splits at the last "1", and data never holds a "1": post-quantum and tag recipients
        // have the HRPs `age1pq`, `age1tag`, `age1tagpq` (`age1pq1…`). A prefix test would also catch
        // an X25519 key whose data happens to begin with "pq" (1 key in 1024) or "tag".
        if let sep = s.lastIndex(of: "1"), s.hasPrefix("age1"), s[..<sep].count > 3 {
            throw AgeError.invalidKey("'\(s[..<sep])1…' is a post-quantum/tag recipient; only X25519 (age1…) recipients are supported")
        }
        // Recipients are lowercase; age rejects uppercase recipients.
        guard let (hrp, data) = Bech32.decode(s), hrp == "age" else {
            throw AgeError.invalidKey("'\(s)' is not an age X25519 recipient (age1…, Bech32)")
        }
        guard data.count == 32 else { throw AgeError.invalidKey("recipient '\(s)' holds \(data.count) bytes, expected 32") }
        self.publicKey = data
    }

    public var encoded: String { Bech32.encode(hrp: "age", data: publicKey) }
    public var description: String { encoded }
}

/// An X25519 age identity, `AGE-SECRET-KEY-1…`. `description` never prints the secret.
public struct AgeIdentity: Sendable, CustomStringConvertible {
    let privateKey: Curve25519.KeyAgreement.PrivateKey
    public let recipient: AgeRecipient

    init(privateKey: Curve25519.KeyAgreement.PrivateKey) {
        self.privateKey = privateKey
        // A 32-byte raw public key always satisfies the recipient invariant.
        self.recipient = (try? AgeRecipient(publicKey: Array(privateKey.publicKey.rawRepresentation)))!
    }

    public init(parsing string: String) throws {
        let s = string.trimmingCharacters(in: .whitespaces)
        if s.hasPrefix("AGE-SECRET-KEY-PQ-") || s.hasPrefix("AGE-PLUGIN-") {
            throw AgeError.invalidKey("post-quantum and plugin identities are not supported; only AGE-SECRET-KEY-1… (X25519)")
        }
        // age compares the HRP case-sensitively against the uppercase form, so lowercase identities are rejected.
        guard let (hrp, data) = Bech32.decode(s), hrp == "AGE-SECRET-KEY-" else {
            throw AgeError.invalidKey("not an age X25519 identity (expected AGE-SECRET-KEY-1…, uppercase Bech32)")
        }
        guard data.count == 32, let key = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: data) else {
            throw AgeError.invalidKey("an age identity holds 32 bytes, this one \(data.count)")
        }
        self.init(privateKey: key)
    }

    public static func generate() -> AgeIdentity { AgeIdentity(privateKey: .init()) }

    /// The `AGE-SECRET-KEY-1…` string (secret material — do not log).
    public var encoded: String {
        Bech32.encode(hrp: "AGE-SECRET-KEY-", data: Array(privateKey.rawRepresentation)).uppercased()
    }

    public var description: String { "AgeIdentity(\(recipient.encoded))" }

    /// Parses an identity file as `age-keygen` writes it (and as sops reads SOPS_AGE_KEY):
    /// blank lines and `#` comments are skipped, every other line must be an identity.
    /// Post-quantum and plugin identities are skipped, since we cannot use them.
    public static func parseFile(_ text: String, source: String = "identity file") throws -> [AgeIdentity] {
        var out: [AgeIdentity] = []
        for (i, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("AGE-SECRET-KEY-PQ-") || line.hasPrefix("AGE-PLUGIN-") { continue }
            do { out.append(try AgeIdentity(parsing: line)) } catch {
                throw SopsError("line \(i + 1) is not an age identity (\(error))", file: source)
            }
        }
        return out
    }

    /// The file `age-keygen` writes: comment lines, then the identity.
    public func keygenFileText(created: Date = Date()) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ssXXXXX"
        return "# created: \(f.string(from: created))\n# public key: \(recipient.encoded)\n\(encoded)\n"
    }
}
