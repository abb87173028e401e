/// A syntax error with the 1-based line and column where parsing stopped.
public struct JSONSyntaxError: Error, Equatable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public let message: String
    public var description: String { "line \(line), column \(column): \(message)" }
}

/// An order-preserving JSON parser (RFC 8259). Hand-written because Foundation's parser loses key
/// order and number spelling, both of which clan and sops files depend on.
///
/// `JSONScanner` validates the text into a `JSONDocument` tape; this materialises the tape as a
/// `JSONValue` tree. Readers of large files (the inventory) use `JSONDocument` directly instead.
public enum JSONParser {
    /// Deeply nested input must end in an error, not a stack overflow.
    public static let maxDepth = 512

    public static func parse(_ text: String) throws -> JSONValue {
        try parse(Array(text.utf8))
    }

    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        let doc = try JSONDocument(bytes)
        return doc.materialize(doc.root)
    }
}
