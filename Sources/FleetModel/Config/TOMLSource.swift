import TOMLKit

/// A parsed TOML file plus its text, so errors about a key can name the line it is on
/// (TOMLKit reports positions for syntax errors only).
public struct TOMLSource {
    public let file: String
    public let table: TOMLTable
    private let lines: [Substring]

    public init(text: String, file: String) throws {
        self.file = file
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        // toml++ aborts (debug) or has undefined behaviour (release) on some table headers.
        if let bad = TOMLHeaderGuard.firstProblem(text) {
            throw ConfigError(file: file, line: bad.line, message: bad.problem == .header
                ? "invalid TOML: a table header must start with a key or a quoted key"
                : "invalid TOML: a closing bracket does not match the open one")
        }
        do {
            table = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw ConfigError(file: file, line: e.source.begin.line, message: "invalid TOML: \(e.description)")
        } catch {
            throw ConfigError(file: file, message: "invalid TOML: \(error)")
        }
    }

    /// The 1-based line where `key` is assigned inside `[section]` (nil section = top level).
    public func line(of key: String, in section: String? = nil) -> Int? {
        var current: String? = nil
        for (i, raw) in lines.enumerated() {
            let l = raw.drop(while: { $0 == " " || $0 == "\t" })
            if l.hasPrefix("[") {
                let name = l.dropFirst().prefix(while: { $0 != "]" }).trimmingCharacters(in: " \t[")
                current = name
                continue
            }
            guard current == section else { continue }
            if l.hasPrefix(key) {
                let rest = l.dropFirst(key.count).drop(while: { $0 == " " || $0 == "\t" })
                if rest.hasPrefix("=") { return i + 1 }
            }
            if l.hasPrefix("\"\(key)\"") { return i + 1 }
        }
        return nil
    }

    public func error(_ key: String, in section: String? = nil, _ message: String) -> ConfigError {
        let dotted = section.map { "\($0).\(key)" } ?? key
        return ConfigError(file: file, key: dotted, line: line(of: key, in: section), message: message)
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
