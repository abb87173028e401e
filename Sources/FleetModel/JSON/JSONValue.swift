import Collections

/// A JSON document that keeps object key order and the exact text of numbers.
///
/// Clan writes `inventory.json` in insertion order and sops computes its MAC over values in
/// document order, so neither can go through an unordered dictionary.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The literal as written (`1763061719`, `1.5e3`), so integers never pass through `Double`.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(OrderedDictionary<String, JSONValue>)

    public init(_ int: Int) { self = .number(String(int)) }

    public var isNull: Bool { if case .null = self { return true } else { return false } }
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var objectValue: OrderedDictionary<String, JSONValue>? {
        if case .object(let o) = self { return o } else { return nil }
    }
    public var intValue: Int? {
        if case .number(let n) = self { return Int(n) } else { return nil }
    }
    public var doubleValue: Double? {
        if case .number(let n) = self { return Double(n) } else { return nil }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// The JSON type name used in error messages ("expected object, found array").
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}
