/// Terminal column widths of text, so wide characters (CJK, emoji) take two cells and
/// combining marks none, the way the terminal will draw them.
public enum DisplayWidth {
    public static func of(_ c: Character) -> Int {
        if c.isASCII { return c.asciiValue! < 0x20 ? 0 : 1 }
        guard let first = c.unicodeScalars.first else { return 0 }
        // Emoji presentation sequences are drawn two cells wide by modern terminals.
        if c.unicodeScalars.count > 1, c.unicodeScalars.contains(where: { $0.value == 0xFE0F }) { return 2 }
        switch first.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format, .control: return 0
        default: break
        }
        if first.properties.isEmojiPresentation || isEastAsianWide(first.value) { return 2 }
        return 1
    }

    /// East Asian Wide/Fullwidth ranges (UAX #11), computed here rather than with libc `wcwidth`,
    /// whose answer depends on the process locale and would make snapshots differ between machines.
    static func isEastAsianWide(_ v: UInt32) -> Bool {
        switch v {
        case 0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x2E80...0x303E, 0x3041...0x33FF,
             0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3,
             0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
             0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }

    public static func of(_ s: String) -> Int {
        if let n = asciiWidth(s) { return n }
        var n = 0
        for c in s { n += of(c) }
        return n
    }

    /// The width of an all-ASCII string from its bytes (control bytes 0, the rest 1, exactly what
    /// `of(Character)` gives them), nil when any byte is not ASCII. Nearly every cell of a table is
    /// ASCII, and `Character` iteration (grapheme breaking, scalar validation) was most of a frame.
    @inline(__always)
    static func asciiWidth(_ s: String) -> Int? {
        var n = 0
        for b in s.utf8 {
            if b >= 0x80 { return nil }
            if b >= 0x20 { n += 1 }
        }
        return n
    }

    /// `s` cut to at most `width` columns, ending in `…` when it had to be cut.
    public static func truncate(_ s: String, to width: Int, ellipsis: String = "…") -> String {
        if width <= 0 { return "" }
        if let n = asciiWidth(s) {
            if n <= width { return s }
            // The same cut as below, on bytes: each byte is one character of width 0 or 1.
            let room = width - of(ellipsis)
            var used = 0, kept = 0
            for b in s.utf8 {
                let w = b < 0x20 ? 0 : 1
                if used + w > room { break }
                used += w
                kept += 1
            }
            return String(Substring(s.utf8.prefix(kept))) + ellipsis
        }
        if of(s) <= width { return s }
        let ew = of(ellipsis)
        var out = ""
        var used = 0
        for c in s {
            let w = of(c)
            if used + w > width - ew { break }
            out.append(c)
            used += w
        }
        return out + ellipsis
    }

    /// `s` truncated or right-padded with spaces to exactly `width` columns.
    public static func pad(_ s: String, to width: Int, ellipsis: String = "…") -> String {
        let t = truncate(s, to: width, ellipsis: ellipsis)
        return t + String(repeating: " ", count: max(0, width - of(t)))
    }
}
