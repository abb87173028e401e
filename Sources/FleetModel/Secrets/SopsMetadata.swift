import Collections
import Foundation

/// Which leaves sops encrypts (only one rule may be set; default `unencrypted_suffix: _unencrypted`).
enum SopsEncryptionRule {
    case unencryptedSuffix(String)
    case encryptedSuffix(String)
    case unencryptedRegex(NSRegularExpression)
    case encryptedRegex(NSRegularExpression)
    /// Comment rules only act on YAML comments; JSON has none.
    case unencryptedCommentRegex
    case encryptedCommentRegex

    /// sops `Tree.Encrypt`: a leaf is judged by every key on its path (array indices add nothing).
    func shouldEncrypt(_ path: [String]) -> Bool {
        func matches(_ re: NSRegularExpression, _ s: String) -> Bool {
            re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
        }
        switch self {
        case .unencryptedSuffix(let s): return !path.contains { $0.hasSuffix(s) }
        case .encryptedSuffix(let s): return path.contains { $0.hasSuffix(s) }
        case .unencryptedRegex(let re): return !path.contains { matches(re, $0) }
        case .encryptedRegex(let re): return path.contains { matches(re, $0) }
        case .unencryptedCommentRegex: return true
        case .encryptedCommentRegex: return false
        }
    }
}

/// The `sops` object of an encrypted file (sops `stores/metadata.go`), age recipients only.
struct SopsMetadata {
    struct AgeEntry { var recipient: String; var enc: String }

    var raw: OrderedDictionary<String, JSONValue>
    var age: [AgeEntry]
    var lastModified: String
    var mac: String
    var rule: SopsEncryptionRule
    var macOnlyEncrypted: Bool

    static func ageEntries(_ v: JSONValue?, field: String) throws -> [AgeEntry] {
        guard let v, !v.isNull else { return [] }
        guard let arr = v.arrayValue else { throw SopsError("expected an array, found \(v.typeName)", field: field) }
        return try arr.enumerated().map { i, e in
            guard let r = e["recipient"]?.stringValue else { throw SopsError("missing string 'recipient'", field: "\(field)[\(i)]") }
            guard let enc = e["enc"]?.stringValue else { throw SopsError("missing string 'enc'", field: "\(field)[\(i)]") }
            return AgeEntry(recipient: r, enc: enc)
        }
    }

    /// Recipients only, without requiring the rest of the metadata (for status views).
    static func recipients(_ sops: JSONValue) throws -> [String] {
        var out = try ageEntries(sops["age"], field: "sops.age").map(\.recipient)
        if let groups = sops["key_groups"]?.arrayValue {
            for (i, g) in groups.enumerated() {
                out += try ageEntries(g["age"], field: "sops.key_groups[\(i)].age").map(\.recipient)
            }
        }
        return out
    }

    init(_ v: JSONValue) throws {
        guard let o = v.objectValue else { throw SopsError("expected an object, found \(v.typeName)", field: "sops") }
        raw = o
        age = try SopsMetadata.ageEntries(o["age"], field: "sops.age")
        if let groups = o["key_groups"], !groups.isNull {
            guard let arr = groups.arrayValue else { throw SopsError("expected an array", field: "sops.key_groups") }
            if arr.count > 1 {
                throw SopsError("Shamir secret sharing over \(arr.count) key groups is not supported", field: "sops.key_groups")
            }
            for (i, g) in arr.enumerated() { age += try SopsMetadata.ageEntries(g["age"], field: "sops.key_groups[\(i)].age") }
        }
        guard let lm = o["lastmodified"]?.stringValue else { throw SopsError("missing string", field: "sops.lastmodified") }
        lastModified = lm
        guard let mac = o["mac"]?.stringValue, !mac.isEmpty else { throw SopsError("missing MAC", field: "sops.mac") }
        self.mac = mac
        macOnlyEncrypted = o["mac_only_encrypted"]?.boolValue ?? false

        var rules: [SopsEncryptionRule] = []
        func regex(_ key: String) throws -> NSRegularExpression? {
            guard let s = o[key]?.stringValue, !s.isEmpty else { return nil }
            do { return try NSRegularExpression(pattern: s) } catch { throw SopsError("invalid regular expression", field: "sops.\(key)") }
        }
        if let s = o["unencrypted_suffix"]?.stringValue, !s.isEmpty { rules.append(.unencryptedSuffix(s)) }
        if let s = o["encrypted_suffix"]?.stringValue, !s.isEmpty { rules.append(.encryptedSuffix(s)) }
        if let r = try regex("unencrypted_regex") { rules.append(.unencryptedRegex(r)) }
        if let r = try regex("encrypted_regex") { rules.append(.encryptedRegex(r)) }
        if try regex("unencrypted_comment_regex") != nil { rules.append(.unencryptedCommentRegex) }
        if try regex("encrypted_comment_regex") != nil { rules.append(.encryptedCommentRegex) }
        guard rules.count <= 1 else { throw SopsError("more than one encryption rule (suffix/regex) is set", field: "sops") }
        rule = rules.first ?? .unencryptedSuffix("_unencrypted")
    }
}
