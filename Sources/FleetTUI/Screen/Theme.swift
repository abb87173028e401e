/// Named styles the views draw with. Views ask for a role ("cursor", "ok"), never for a colour, so a
/// theme file or NO_COLOR changes every screen at once.
public struct Theme: Equatable, Sendable {
    public var name: String
    public var base: Style
    public var header: Style
    public var badge: Style
    public var tabActive: Style
    public var tabInactive: Style
    public var tableHeader: Style
    public var cursor: Style
    public var marked: Style
    public var dim: Style
    public var ok: Style
    public var warn: Style
    public var error: Style
    public var accent: Style
    public var match: Style
    public var statusBar: Style
    public var statusKey: Style
    public var border: Style

    /// The built-in dark theme (mirrors themes/default.toml); used when no theme file loads.
    public static let defaultDark = Theme(
        name: "default",
        base: Style(),
        header: Style(fg: .brightWhite, bg: .blue, bold: true),
        badge: Style(fg: .black, bg: .yellow, bold: true),
        tabActive: Style(fg: .black, bg: .cyan, bold: true),
        tabInactive: Style(fg: .cyan),
        tableHeader: Style(fg: .yellow, bold: true, underline: false),
        cursor: Style(fg: .black, bg: .cyan),
        marked: Style(fg: .magenta, bold: true),
        dim: Style(fg: .brightBlack),
        ok: Style(fg: .green),
        warn: Style(fg: .yellow),
        error: Style(fg: .red, bold: true),
        accent: Style(fg: .cyan),
        match: Style(fg: .black, bg: .yellow),
        statusBar: Style(fg: .white, bg: .brightBlack),
        statusKey: Style(fg: .brightWhite, bg: .brightBlack, bold: true),
        border: Style(fg: .brightBlack))

    /// Attributes only, for NO_COLOR and monochrome terminals.
    public static let monochrome = Theme(
        name: "monochrome",
        base: Style(), header: Style(bold: true, reverse: true), badge: Style(bold: true, reverse: true),
        tabActive: Style(bold: true, reverse: true), tabInactive: Style(),
        tableHeader: Style(bold: true, underline: true), cursor: Style(reverse: true),
        marked: Style(bold: true), dim: Style(dim: true), ok: Style(), warn: Style(bold: true),
        error: Style(bold: true, underline: true), accent: Style(bold: true), match: Style(underline: true),
        statusBar: Style(reverse: true), statusKey: Style(bold: true, reverse: true), border: Style())
}

/// Box-drawing and marker glyphs; ASCII when the locale cannot show UTF-8.
public struct Glyphs: Equatable, Sendable {
    public var horizontal: String
    public var vertical: String
    public var ellipsis: String
    public var cursor: String
    public var mark: String
    public var separator: String
    /// The text cursor in input lines.
    public var caret: String
    public var dash: String

    public static let unicode = Glyphs(horizontal: "─", vertical: "│", ellipsis: "…", cursor: "▶", mark: "●", separator: "·",
                                       caret: "▏", dash: "—")
    public static let ascii = Glyphs(horizontal: "-", vertical: "|", ellipsis: "~", cursor: ">", mark: "*", separator: "-",
                                     caret: "_", dash: "-")
}
