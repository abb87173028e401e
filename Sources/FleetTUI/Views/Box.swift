/// A bordered box for overlays and dialogs, cleared inside.
enum Box {
    static func draw(_ buf: inout ScreenBuffer, _ r: Rect, title: String?, ctx: RenderContext) {
        let t = ctx.theme, g = ctx.glyphs
        buf.fill(r, style: t.base)
        guard r.width >= 2, r.height >= 2 else { return }
        let corners = g == .unicode ? ("┌", "┐", "└", "┘") : ("+", "+", "+", "+")
        let h = String(repeating: g.horizontal, count: r.width - 2)
        buf.put(corners.0 + h + corners.1, x: r.x, y: r.y, style: t.border)
        buf.put(corners.2 + h + corners.3, x: r.x, y: r.maxY - 1, style: t.border)
        for y in r.y + 1..<r.maxY - 1 {
            buf.put(g.vertical, x: r.x, y: y, style: t.border)
            buf.put(g.vertical, x: r.maxX - 1, y: y, style: t.border)
        }
        if let title {
            let tt = " " + DisplayWidth.truncate(title, to: r.width - 6, ellipsis: g.ellipsis) + " "
            buf.put(tt, x: r.x + 2, y: r.y, style: t.tableHeader)
        }
    }

    /// A rectangle of at most `width` x `height`, centred in `area`.
    static func centered(width: Int, height: Int, in area: Rect) -> Rect {
        let w = min(width, area.width), h = min(height, area.height)
        return Rect(x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h)
    }
}
