import TOMLKit

/// A colour as written in a theme file: a name (`red`, `bright-blue`, `default`), a 256-colour
/// index (`208`), or `#rrggbb` (mapped to the nearest xterm-256 colour).
public enum ColorSpec: Equatable, Sendable {
    case `default`
    case ansi(UInt8)
    case indexed(UInt8)

    static let names = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    public static func parse(_ s: String) -> ColorSpec? {
        let l = s.lowercased()
        if l == "default" || l == "none" { return .default }
        if let i = names.firstIndex(of: l) { return .ansi(UInt8(i)) }
        if l.hasPrefix("bright-"), let i = names.firstIndex(of: String(l.dropFirst(7))) { return .ansi(UInt8(i + 8)) }
        if l == "gray" || l == "grey" { return .ansi(8) }
        if let n = Int(l), (0...255).contains(n) { return n < 16 ? .ansi(UInt8(n)) : .indexed(UInt8(n)) }
        if l.hasPrefix("#"), l.count == 7, let v = Int(l.dropFirst(), radix: 16) {
            let r = (v >> 16) & 0xFF, g = (v >> 8) & 0xFF, b = v & 0xFF
            func level(_ c: Int) -> Int { c < 48 ? 0 : c < 115 ? 1 : (c - 35) / 40 }
            return .indexed(UInt8(16 + 36 * level(r) + 6 * level(g) + level(b)))
        }
        return nil
    }
}

public struct StyleSpec: Equatable, Sendable {
    public var fg: ColorSpec?
    public var bg: ColorSpec?
    public var bold: Bool?
    public var dim: Bool?
    public var reverse: Bool?
    public var underline: Bool?
    public init() {}
}

/// A theme file (`themes/*.toml`): a name and a style per role.
///
/// ```toml
/// name = "light"
/// [styles]
/// header = { fg = "white", bg = "blue", bold = true }
/// ```
public struct ThemeSpec: Equatable, Sendable {
    /// Every role a theme may style (the fields of FleetTUI's `Theme`).
    public static let roles = ["base", "header", "badge", "tabActive", "tabInactive", "tableHeader", "cursor",
                               "marked", "dim", "ok", "warn", "error", "accent", "match", "statusBar",
                               "statusKey", "border"]

    public var name: String
    public var styles: [String: StyleSpec]

    public static func parse(_ text: String, file: String) throws -> ThemeSpec {
        let src = try TOMLSource(text: text, file: file)
        for key in src.table.keys where key != "name" && key != "styles" {
            throw src.error(key, "unknown key (expected name, [styles])")
        }
        var spec = ThemeSpec(name: "", styles: [:])
        if let n = src.table["name"] {
            guard let s = n.string else { throw src.error("name", "expected a string") }
            spec.name = s
        }
        guard let styles = src.table["styles"]?.table else {
            if src.table["styles"] != nil { throw src.error("styles", "expected a table") }
            return spec
        }
        for role in styles.keys {
            guard roles.contains(role) else {
                throw src.error(role, in: "styles", "unknown role (known: \(roles.joined(separator: ", ")))")
            }
            guard let t = styles[role]?.table else { throw src.error(role, in: "styles", "expected an inline table like { fg = \"red\" }") }
            var st = StyleSpec()
            for k in t.keys {
                switch k {
                case "fg", "bg":
                    guard let s = t[k]?.string, let c = ColorSpec.parse(s) else {
                        throw src.error(role, in: "styles", "\(k): expected a colour name, 0-255 or #rrggbb")
                    }
                    if k == "fg" { st.fg = c } else { st.bg = c }
                case "bold", "dim", "reverse", "underline":
                    guard let b = t[k]?.bool else { throw src.error(role, in: "styles", "\(k): expected true or false") }
                    switch k {
                    case "bold": st.bold = b
                    case "dim": st.dim = b
                    case "reverse": st.reverse = b
                    default: st.underline = b
                    }
                default:
                    throw src.error(role, in: "styles", "unknown attribute '\(k)' (fg, bg, bold, dim, reverse, underline)")
                }
            }
            spec.styles[role] = st
        }
        return spec
    }
}
