import Collections
import Foundation

/// `sops/{users,machines}/<name>/key.json` (clan `secrets/sops.py` `read_keys`/`write_keys`):
/// either one `{"publickey", "type"}` object (legacy) or an array of them (current writer).
enum SopsKeyFile {
    struct Key: Equatable { var publicKey: String; var type: String }

    static func read(_ path: String) throws -> [Key] {
        guard let data = FileManager.default.contents(atPath: path) else { throw SopsError("cannot read key file", file: path) }
        let v: JSONValue
        do { v = try JSONParser.parse(Array(data)) } catch { throw SopsError("not valid JSON: \(error)", file: path) }
        func key(_ o: JSONValue, _ field: String) throws -> Key {
            guard o.objectValue != nil else { throw SopsError("expected an object, found \(o.typeName)", file: path, field: field) }
            guard let pk = o["publickey"]?.stringValue else { throw SopsError("missing string 'publickey'", file: path, field: field) }
            // clan defaults a missing type to age.
            let type = (o["type"]?.stringValue ?? "age").lowercased()
            guard type == "age" || type == "pgp" else { throw SopsError("unknown key type '\(type)'", file: path, field: field + ".type") }
            return Key(publicKey: pk, type: type)
        }
        switch v {
        case .object: return [try key(v, "$")]
        case .array(let a): return try a.enumerated().map { try key($1, "[\($0)]") }
        default: throw SopsError("expected an object or an array, found \(v.typeName)", file: path)
        }
    }

    /// The age recipients in a key file (pgp fingerprints are skipped).
    static func ageRecipients(_ path: String) throws -> [String] {
        try read(path).filter { $0.type == "age" }.map(\.publicKey)
    }

    /// `json.dump([{"publickey": …, "type": "age"}], f, indent=2)` — keys sorted, no trailing LF.
    static func render(_ keys: [Key]) -> String {
        let items: [JSONValue] = keys.sorted { ($0.publicKey, $0.type) < ($1.publicKey, $1.type) }.map {
            .object(["publickey": .string($0.publicKey), "type": .string($0.type)])
        }
        return JSONWriter.python2.string(.array(items))
    }
}
