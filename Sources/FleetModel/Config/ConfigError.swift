/// A problem in a TOML file fleet reads (theme or config), naming the file, the key and the line.
public struct ConfigError: Error, Equatable, CustomStringConvertible, Sendable {
    public let file: String
    public let key: String?
    public let line: Int?
    public let message: String

    public init(file: String, key: String? = nil, line: Int? = nil, message: String) {
        self.file = file
        self.key = key
        self.line = line
        self.message = message
    }

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        if let key { s += ": \(key)" }
        return s + ": " + message
    }
}
