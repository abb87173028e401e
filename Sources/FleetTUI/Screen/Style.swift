/// A terminal colour: the terminal's default, one of the 16 ANSI colours, or a 256-palette index.
public enum TermColor: Hashable, Sendable {
    case `default`
    case ansi(UInt8)      // 0–15
    case indexed(UInt8)   // 16–255

    public static let black = TermColor.ansi(0), red = TermColor.ansi(1), green = TermColor.ansi(2)
    public static let yellow = TermColor.ansi(3), blue = TermColor.ansi(4), magenta = TermColor.ansi(5)
    public static let cyan = TermColor.ansi(6), white = TermColor.ansi(7)
    public static let brightBlack = TermColor.ansi(8), brightRed = TermColor.ansi(9)
    public static let brightGreen = TermColor.ansi(10), brightYellow = TermColor.ansi(11)
    public static let brightBlue = TermColor.ansi(12), brightWhite = TermColor.ansi(15)
}

/// How one cell is drawn. Views never pick raw colours; they take a `Style` from the theme.
public struct Style: Hashable, Sendable {
    public var fg: TermColor
    public var bg: TermColor
    public var bold: Bool
    public var dim: Bool
    public var reverse: Bool
    public var underline: Bool

    public init(fg: TermColor = .default, bg: TermColor = .default, bold: Bool = false, dim: Bool = false,
                reverse: Bool = false, underline: Bool = false) {
        self.fg = fg
        self.bg = bg
        self.bold = bold
        self.dim = dim
        self.reverse = reverse
        self.underline = underline
    }

    public static let plain = Style()
}
