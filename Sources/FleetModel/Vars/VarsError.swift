/// A vars problem with enough context to act on: the file (or generator) and what is wrong.
public struct VarsError: Error, Equatable, CustomStringConvertible, Sendable {
    public let context: String
    public let message: String

    public init(_ context: String, _ message: String) {
        self.context = context
        self.message = message
    }

    public var description: String { context.isEmpty ? message : "\(context): \(message)" }
}
