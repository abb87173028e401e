/// A column of a table: its title and how it takes width.
public struct TableColumn: Sendable {
    public enum Sizing: Sendable {
        case fixed(Int)
        /// Shares the remaining width with other flexible columns, proportionally to `weight`,
        /// never below `min`.
        case flex(weight: Int, min: Int)
    }
    public var title: String
    public var sizing: Sizing
    public init(_ title: String, _ sizing: Sizing) {
        self.title = title
        self.sizing = sizing
    }
}

/// Draws a table with a title row and a cursor. Virtualised: only the rows in the viewport are
/// asked for (`cell(row, column)`), so 10,000-row tables cost what 30 rows cost.
public struct TableView {
    public var columns: [TableColumn]
    public var rowCount: Int
    public var cursor: TableCursor
    public var cell: (Int, Int) -> (String, Style?)
    public var gap = 2
    /// Rows shown with the mark glyph.
    public var isMarked: (Int) -> Bool = { _ in false }
    /// Highlights filter matches inside cells.
    public var highlighter: FilterMatcher?

    public init(columns: [TableColumn], rowCount: Int, cursor: TableCursor, cell: @escaping (Int, Int) -> (String, Style?)) {
        self.columns = columns
        self.rowCount = rowCount
        self.cursor = cursor
        self.cell = cell
    }

    /// Column widths for a total width, fixed first, flexible columns sharing the rest.
    public func widths(total: Int) -> [Int] {
        let indicator = 2
        let fixed = columns.reduce(0) { acc, c in if case .fixed(let w) = c.sizing { return acc + w } else { return acc } }
        let gaps = gap * max(0, columns.count - 1)
        var rest = max(0, total - indicator - fixed - gaps)
        let weights = columns.reduce(0) { acc, c in if case .flex(let w, _) = c.sizing { return acc + w } else { return acc } }
        var out: [Int] = []
        var flexIndices: [Int] = []
        for (i, c) in columns.enumerated() {
            switch c.sizing {
            case .fixed(let w): out.append(w)
            case .flex(let w, let mn):
                let share = weights > 0 ? rest * w / weights : 0
                out.append(max(mn, share))
                flexIndices.append(i)
            }
        }
        // Hand leftover columns (from integer division) to the last flexible column; when minimums
        // overflow a narrow terminal, take the excess back from the flexible columns.
        rest -= flexIndices.reduce(0) { $0 + out[$1] }
        if rest > 0, let last = flexIndices.last { out[last] += rest }
        var excess = -rest
        for i in flexIndices.reversed() where excess > 0 {
            let take = min(excess, out[i] - 1)
            out[i] -= take
            excess -= take
        }
        return out
    }

    public func render(into buf: inout ScreenBuffer, area: Rect, ctx: RenderContext) {
        guard area.height > 0, area.width > 0 else { return }
        let ws = widths(total: area.width)
        // Title row.
        buf.fill(Rect(x: area.x, y: area.y, width: area.width, height: 1), style: ctx.theme.tableHeader)
        var x = area.x + 2
        for (i, col) in columns.enumerated() {
            buf.put(DisplayWidth.pad(col.title, to: ws[i], ellipsis: ctx.glyphs.ellipsis), x: x, y: area.y,
                    style: ctx.theme.tableHeader, clip: area)
            x += ws[i] + gap
        }
        let bodyRows = area.height - 1
        guard bodyRows > 0 else { return }
        for vis in 0..<bodyRows {
            let r = cursor.offset + vis
            guard r < rowCount else { break }
            let y = area.y + 1 + vis
            let selected = r == cursor.row
            let rowStyle = selected ? ctx.theme.cursor : ctx.theme.base
            buf.fill(Rect(x: area.x, y: y, width: area.width, height: 1), style: rowStyle)
            if selected { buf.put(ctx.glyphs.cursor, x: area.x, y: y, style: rowStyle, clip: area) }
            let marked = isMarked(r)
            if marked { buf.put(ctx.glyphs.mark, x: area.x + 1, y: y, style: selected ? rowStyle : ctx.theme.marked, clip: area) }
            var cx = area.x + 2
            for c in 0..<columns.count {
                let (text, style) = cell(r, c)
                var s = selected ? rowStyle : (style ?? ctx.theme.base)
                if marked && !selected { s.bold = true }
                // Truncated, then padded to the column's width in the cell's style (as `pad`, without
                // building the padded string: this runs for every visible cell of every frame).
                let shown = DisplayWidth.truncate(text, to: ws[c], ellipsis: ctx.glyphs.ellipsis)
                let end = buf.put(shown, x: cx, y: y, style: s, clip: area)
                buf.fill(Rect(x: end, y: y, width: min(cx + ws[c], area.maxX) - end, height: 1), style: s)
                if let h = highlighter {
                    // Matches are highlighted where they are visible (shown text may be truncated).
                    let chars = Array(shown)
                    for range in h.highlights(in: shown) where range.upperBound <= chars.count {
                        let col = cx + DisplayWidth.of(String(chars[0..<range.lowerBound]))
                        let w = DisplayWidth.of(String(chars[range]))
                        buf.restyle(x: col, y: y, width: min(w, cx + ws[c] - col)) { $0 = ctx.theme.match }
                    }
                }
                cx += ws[c] + gap
            }
        }
    }
}
