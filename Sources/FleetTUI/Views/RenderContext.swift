/// What every view needs besides state: the theme and the glyph set.
public struct RenderContext: Sendable {
    public var theme: Theme
    public var glyphs: Glyphs

    public init(theme: Theme = .defaultDark, glyphs: Glyphs = .unicode) {
        self.theme = theme
        self.glyphs = glyphs
    }
}
