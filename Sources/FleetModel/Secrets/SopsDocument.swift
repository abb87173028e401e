import Collections
import Crypto
import Foundation

/// A sops-encrypted JSON document: the user tree plus its `sops` metadata.
struct SopsDocument {
    var tree: OrderedDictionary<String, JSONValue>
    var metadata: SopsMetadata

    /// Parses the file text; the top level must be an object with exactly one `sops` key.
    init(text: String) throws {
        let v: JSONValue
        do { v = try JSONParser.parse(text) } catch { throw SopsError("not valid JSON: \(error)") }
        guard var o = v.objectValue else { throw SopsError("top level must be a JSON object, found \(v.typeName)") }
        guard let meta = o.removeValue(forKey: "sops") else { throw SopsError("no 'sops' metadata: the file is not sops-encrypted", field: "sops") }
        tree = o
        metadata = try SopsMetadata(meta)
    }

    /// Recipients listed in the metadata, parsed without decrypting anything.
    static func recipients(text: String) throws -> [String] {
        let v: JSONValue
        do { v = try JSONParser.parse(text) } catch { throw SopsError("not valid JSON: \(error)") }
        guard v.objectValue != nil else { throw SopsError("top level must be a JSON object, found \(v.typeName)") }
        guard let meta = v["sops"], meta.objectValue != nil else { throw SopsError("no 'sops' metadata object", field: "sops") }
        return try SopsMetadata.recipients(meta)
    }

    /// Recovers the 32-byte data key from the first `sops.age` entry one of `identities` opens.
    func dataKey(identities: [AgeIdentity], plugins: [AgePluginIdentity] = [], environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [UInt8] {
        guard !metadata.age.isEmpty else { throw SopsError("the file has no age recipients", field: "sops.age") }
        var failures: [String] = []
        for (i, entry) in metadata.age.enumerated() {
            do {
                let key = try Age.decrypt(Array(entry.enc.utf8), with: identities)
                guard key.count == 32 else {
                    throw SopsError("decrypted data key is \(key.count) bytes, expected 32", field: "sops.age[\(i)].enc")
                }
                return key
            } catch AgeError.noMatch {
                // The entry names one of our keys but its stanza does not open with it.
                if identities.contains(where: { $0.recipient.encoded == entry.recipient }) {
                    failures.append("sops.age[\(i)] (\(entry.recipient)): the age stanza for this recipient does not open with its identity (altered or mislabelled)")
                }
                continue
            } catch {
                failures.append("sops.age[\(i)] (\(entry.recipient)): \(error)")
            }
        }
        // Plugin identities (hardware keys): the entries whose recipient is of the same plugin,
        // opened by the real age binary through the plugin (AgePlugins).
        for (i, entry) in metadata.age.enumerated() {
            guard let plugin = AgePlugins.pluginName(ofRecipient: entry.recipient) else { continue }
            for id in plugins where id.plugin == plugin {
                do {
                    let key = try AgePlugins.unwrap(entry.enc, identity: id, environment: environment)
                    if key.count == 32 { return key }
                    failures.append("sops.age[\(i)] (\(entry.recipient)): decrypted data key is \(key.count) bytes, expected 32")
                } catch {
                    failures.append("sops.age[\(i)] (\(entry.recipient)): \(error)")
                }
            }
        }
        if !failures.isEmpty { throw SopsError("could not decrypt the data key: " + failures.joined(separator: "; "), field: "sops.age") }
        let have = (identities.map(\.recipient.encoded) + plugins.map { "\($0.plugin) plugin identity" }).joined(separator: ", ")
        let want = metadata.age.map(\.recipient).joined(separator: ", ")
        throw SopsError("none of the available age identities (\(have.isEmpty ? "none" : have)) is a recipient of this file (recipients: \(want))", field: "sops.age")
    }

    /// Decrypts every leaf and verifies the MAC; returns the plaintext tree (without `sops`).
    /// `rawStrings` receives the exact bytes of each decrypted `str` leaf by key path, since
    /// clan values may not be UTF-8.
    func decrypt(dataKey: [UInt8], rawStrings: inout [String: [UInt8]]) throws -> OrderedDictionary<String, JSONValue> {
        let key = SymmetricKey(data: dataKey)
        var hasher = SHA512()
        if metadata.macOnlyEncrypted { hasher.update(data: Array(SHA256.hash(data: Array("sops".utf8)))) }
        var out = OrderedDictionary<String, JSONValue>()
        for (k, v) in tree {
            out[k] = try decryptWalk(v, path: [k], key: key, hasher: &hasher, raw: &rawStrings)
        }
        let computed = SopsDocument.hex(hasher.finalize())
        let aad = try SopsTime.reformat(metadata.lastModified)
        let stored: [UInt8]
        do {
            let enc = try SopsEncryptedValue(parsing: metadata.mac)
            stored = try enc.open(key: key, aad: Array(aad.utf8))
        } catch let e as SopsError {
            throw SopsError("cannot decrypt the MAC (\(e.message)); the MAC or lastmodified was altered", field: "sops.mac")
        }
        guard AgeKeys.equal(stored, Array(computed.utf8)) else {
            // No digests in the message: a hash of a low-entropy secret could be brute-forced.
            throw SopsError("MAC mismatch: the file's values were altered or reordered", field: "sops.mac")
        }
        return out
    }

    private func decryptWalk(_ v: JSONValue, path: [String], key: SymmetricKey, hasher: inout SHA512,
                             raw: inout [String: [UInt8]]) throws -> JSONValue {
        switch v {
        case .object(let o):
            var out = OrderedDictionary<String, JSONValue>()
            for (k, c) in o { out[k] = try decryptWalk(c, path: path + [k], key: key, hasher: &hasher, raw: &raw) }
            return .object(out)
        case .array(let a):
            return .array(try a.map { try decryptWalk($0, path: path, key: key, hasher: &hasher, raw: &raw) })
        case .null:
            return .null
        default:
            let field = path.joined(separator: ".")
            let encrypted = metadata.rule.shouldEncrypt(path)
            if encrypted, case .string(let s) = v, !s.isEmpty {
                let enc: SopsEncryptedValue
                do { enc = try SopsEncryptedValue(parsing: s) } catch let e as SopsError { throw SopsError(e.message, field: field) }
                let aad = Array((path.joined(separator: ":") + ":").utf8)
                var pt: [UInt8]
                do { pt = try enc.open(key: key, aad: aad) } catch let e as SopsError { throw SopsError(e.message, field: field) }
                defer { pt.zeroize() }
                let (value, mac): (JSONValue, [UInt8])
                do { (value, mac) = try SopsPlaintext.decode(pt, type: enc.type) } catch let e as SopsError { throw SopsError(e.message, field: field) }
                hasher.update(data: mac)
                if enc.type == "str" || enc.type == "bytes" { raw[field] = pt }
                return value
            }
            if encrypted, !(v.stringValue?.isEmpty ?? false) {
                throw SopsError("value should be encrypted but is a plain \(v.typeName)", field: field)
            }
            // Unencrypted (or empty-string) leaves still count towards the MAC unless mac_only_encrypted.
            if !metadata.macOnlyEncrypted || encrypted, let (bytes, _) = try SopsPlaintext.encode(v) {
                hasher.update(data: bytes)
            }
            return v
        }
    }

    /// Encrypts a plaintext tree with `dataKey`; returns the encrypted tree and the MAC string.
    static func encrypt(_ tree: OrderedDictionary<String, JSONValue>, dataKey: [UInt8], rule: SopsEncryptionRule,
                        rawStrings: [String: [UInt8]] = [:]) throws -> (tree: OrderedDictionary<String, JSONValue>, mac: String) {
        let key = SymmetricKey(data: dataKey)
        var hasher = SHA512()
        func walk(_ v: JSONValue, _ path: [String]) throws -> JSONValue {
            switch v {
            case .object(let o):
                var out = OrderedDictionary<String, JSONValue>()
                for (k, c) in o {
                    guard path.isEmpty ? k != "sops" : true else { throw SopsError("the top-level key 'sops' is reserved", field: "sops") }
                    out[k] = try walk(c, path + [k])
                }
                return .object(out)
            case .array(let a): return .array(try a.map { try walk($0, path) })
            case .null: return .null
            default:
                let field = path.joined(separator: ".")
                guard let encoded = try SopsPlaintext.encode(v) else { return v }
                var bytes = encoded.bytes
                let type = encoded.type
                if type == "str", let r = rawStrings[field] { bytes = r }
                defer { bytes.zeroize() }
                hasher.update(data: bytes)
                // Empty strings stay "" (an empty ENC data field would fail sops's regex).
                guard rule.shouldEncrypt(path), !bytes.isEmpty || type != "str" else { return v }
                let aad = Array((path.joined(separator: ":") + ":").utf8)
                return .string(try SopsEncryptedValue.seal(bytes, type: type, key: key, aad: aad).encoded)
            }
        }
        guard case .object(let out) = try walk(.object(tree), []) else { throw SopsError("internal: tree is not an object") }
        return (out, hex(hasher.finalize()))
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let h = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in digest { out.append(h[Int(b >> 4)]); out.append(h[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    static func encryptMAC(_ mac: String, dataKey: [UInt8], lastModified: String) throws -> String {
        try SopsEncryptedValue.seal(Array(mac.utf8), type: "str", key: SymmetricKey(data: dataKey), aad: Array(lastModified.utf8)).encoded
    }

    /// Each recipient gets its own armored age file holding the raw 32-byte data key (sops `age/keysource.go`).
    static func ageEntries(dataKey: [UInt8], recipients: [AgeRecipient], pluginRecipients: [String] = [],
                           environment: [String: String] = ProcessInfo.processInfo.environment) throws -> JSONValue {
        var entries: [(String, String)] = try recipients.map { r in
            (r.encoded, String(decoding: try Age.encrypt(dataKey, to: [r], armor: true), as: UTF8.self))
        }
        for r in pluginRecipients { entries.append((r, try AgePlugins.wrap(dataKey, to: r, environment: environment))) }
        return .array(entries.map { .object(["recipient": .string($0.0), "enc": .string($0.1)]) })
    }

    /// sops's JSON store output: tab indentation, Go's HTML escaping, trailing LF.
    static func render(tree: OrderedDictionary<String, JSONValue>, sops: OrderedDictionary<String, JSONValue>) -> String {
        var top = tree
        top["sops"] = .object(sops)
        return JSONWriter(indent: "\t", escapeHTML: true).string(.object(top)) + "\n"
    }
}
