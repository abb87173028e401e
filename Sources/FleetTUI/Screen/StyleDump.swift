/// A text picture of a buffer's styles, for snapshot tests of themes and highlights: a legend of
/// the distinct styles (letter → attributes) and one row of letters per screen row.
extension ScreenBuffer {
    public func styleDump() -> String {
        var letters: [Style: Character] = [:]
        var legend: [String] = []
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var rows: [String] = []
        for y in 0..<height {
            var row = ""
            for x in 0..<width {
                let st = self[x, y].style
                if letters[st] == nil {
                    let l = letters.count < alphabet.count ? alphabet[letters.count] : "?"
                    letters[st] = l
                    legend.append("\(l): \(Self.describe(st))")
                }
                row.append(letters[st]!)
            }
            rows.append(row)
        }
        return (legend + [""] + rows).joined(separator: "\n")
    }

    static func describe(_ s: Style) -> String {
        func c(_ t: TermColor) -> String {
            switch t {
            case .default: return "default"
            case .ansi(let n): return "ansi\(n)"
            case .indexed(let n): return "idx\(n)"
            }
        }
        var parts = ["fg=\(c(s.fg))", "bg=\(c(s.bg))"]
        if s.bold { parts.append("bold") }
        if s.dim { parts.append("dim") }
        if s.reverse { parts.append("reverse") }
        if s.underline { parts.append("underline") }
        return parts.joined(separator: " ")
    }
}
