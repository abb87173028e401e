import Collections
import Foundation

/// sops-encrypted JSON with age recipients, as clan writes its secrets and sops-nix reads them.
public enum Sops {
    /// The sops version we claim in files we write (the one in clan's current fixtures).
    public static let writerVersion = "3.10.2"

    /// The whole `secret` file for a clan value: `{"data": ENC[…type:str]}` plus metadata, byte for
    /// byte in sops's layout (binary store: the value is always `type:str`, AAD `data:`).
    public static func encryptClanSecret(_ value: [UInt8], recipients: [AgeRecipient], pluginRecipients: [String] = [], now: Date = Date()) throws -> String {
        var tree = OrderedDictionary<String, JSONValue>()
        tree["data"] = .string("")   // placeholder; the raw bytes go in via rawStrings
        return try encrypt(tree: tree, rawStrings: ["data": value], recipients: recipients, pluginRecipients: pluginRecipients, now: now)
    }

    /// Decrypts a clan `secret` file (MAC verified) and returns the raw bytes of `data`, exactly
    /// what sops-nix's binary format writes to /run/secrets.
    public static func decryptClanSecret(_ fileText: String, identities: [AgeIdentity], plugins: [AgePluginIdentity] = []) throws -> [UInt8] {
        let doc = try SopsDocument(text: fileText)
        guard let data = doc.tree["data"] else { throw SopsError("missing top-level 'data' key (not a clan/sops binary secret)", field: "data") }
        guard data.stringValue != nil else { throw SopsError("expected a string, found \(data.typeName)", field: "data") }
        var key = try doc.dataKey(identities: identities, plugins: plugins)
        defer { key.zeroize() }
        var raw: [String: [UInt8]] = [:]
        _ = try doc.decrypt(dataKey: key, rawStrings: &raw)
        return raw["data"] ?? []
    }

    /// The `age1…` recipients listed in the file's metadata, without decrypting.
    public static func recipients(ofFileText text: String) throws -> [String] {
        try SopsDocument.recipients(text: text)
    }

    /// Re-wraps the data key to `recipients` (sops `updatekeys`): values, MAC and lastmodified are
    /// unchanged, so the plaintext and its integrity proof stay identical. The MAC is verified first.
    public static func reencrypt(_ fileText: String, identities: [AgeIdentity], plugins: [AgePluginIdentity] = [],
                                 to recipients: [AgeRecipient], pluginRecipients: [String] = []) throws -> String {
        guard !recipients.isEmpty || !pluginRecipients.isEmpty else { throw SopsError("no recipients to re-encrypt to") }
        let doc = try SopsDocument(text: fileText)
        var key = try doc.dataKey(identities: identities, plugins: plugins)
        defer { key.zeroize() }
        var raw: [String: [UInt8]] = [:]
        _ = try doc.decrypt(dataKey: key, rawStrings: &raw)
        for k in raw.keys { raw[k]?.zeroize() }
        var meta = doc.metadata.raw
        meta["key_groups"] = nil
        meta["age"] = try SopsDocument.ageEntries(dataKey: key, recipients: recipients, pluginRecipients: pluginRecipients)
        return SopsDocument.render(tree: doc.tree, sops: meta)
    }

    /// Decrypts any sops JSON document (MAC verified) to its plaintext tree, without `sops`.
    /// Non-UTF-8 string values are decoded lossily here; use `decryptClanSecret` for raw bytes.
    public static func decryptDocument(_ fileText: String, identities: [AgeIdentity]) throws -> JSONValue {
        let doc = try SopsDocument(text: fileText)
        var key = try doc.dataKey(identities: identities)
        defer { key.zeroize() }
        var raw: [String: [UInt8]] = [:]
        let out = try doc.decrypt(dataKey: key, rawStrings: &raw)
        for k in raw.keys { raw[k]?.zeroize() }
        return .object(out)
    }

    /// Encrypts a plaintext JSON object as `sops encrypt` does (default rule `_unencrypted` suffix).
    public static func encryptDocument(_ plaintext: JSONValue, recipients: [AgeRecipient], now: Date = Date()) throws -> String {
        guard let tree = plaintext.objectValue else { throw SopsError("a sops document must be a JSON object, found \(plaintext.typeName)") }
        return try encrypt(tree: tree, rawStrings: [:], recipients: recipients, pluginRecipients: [], now: now)
    }

    private static func encrypt(tree: OrderedDictionary<String, JSONValue>, rawStrings: [String: [UInt8]],
                                recipients: [AgeRecipient], pluginRecipients: [String], now: Date) throws -> String {
        guard !recipients.isEmpty || !pluginRecipients.isEmpty else { throw SopsError("no recipients to encrypt to") }
        var key = AgeKeys.random(32)
        defer { key.zeroize() }
        let suffix = "_unencrypted"
        let (enc, mac) = try SopsDocument.encrypt(tree, dataKey: key, rule: .unencryptedSuffix(suffix), rawStrings: rawStrings)
        let lastModified = SopsTime.format(now)
        // Key order of current sops (alphabetical, empty key types omitted), as in clan's fixtures.
        var meta = OrderedDictionary<String, JSONValue>()
        meta["age"] = try SopsDocument.ageEntries(dataKey: key, recipients: recipients, pluginRecipients: pluginRecipients)
        meta["lastmodified"] = .string(lastModified)
        meta["mac"] = .string(try SopsDocument.encryptMAC(mac, dataKey: key, lastModified: lastModified))
        meta["unencrypted_suffix"] = .string(suffix)
        meta["version"] = .string(writerVersion)
        return SopsDocument.render(tree: enc, sops: meta)
    }
}
