/// One cell of the screen: a grapheme and its style. A wide grapheme occupies its cell and marks
/// the next one as a continuation (`isContinuation`), which the backend does not draw.
public struct Cell: Equatable, Sendable {
    public var grapheme: Character
    public var style: Style
    public var isContinuation: Bool

    public init(_ grapheme: Character = " ", style: Style = .plain, isContinuation: Bool = false) {
        self.grapheme = grapheme
        self.style = style
        self.isContinuation = isContinuation
    }

    public static let blank = Cell()
}

public struct Rect: Equatable, Sendable {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y; self.width = max(0, width); self.height = max(0, height)
    }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public func contains(x px: Int, y py: Int) -> Bool { px >= x && px < maxX && py >= y && py < maxY }
}

/// The in-memory screen that views render into. Pure value: views are tested by rendering into
/// one of a fixed size and comparing `text()`; the ncurses backend diffs two of them.
public struct ScreenBuffer: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: .blank, count: self.width * self.height)
    }

    public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    /// Writes `text` from (x, y), clipped to `clip` (default: the whole buffer). Returns the column
    /// after the last cell written.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: Style = .plain, clip: Rect? = nil) -> Int {
        let c = clip ?? bounds
        guard y >= c.y, y < c.maxY, y >= 0, y < height else { return x }
        let right = min(c.maxX, width)
        var col = x
        if DisplayWidth.asciiWidth(text) != nil {
            // All ASCII: one byte is one character, as `DisplayWidth.of` measures it.
            let left = max(c.x, 0)
            for b in text.utf8 where b >= 0x20 {
                if col + 1 > right { break }
                if col >= left { cells[y * width + col] = Cell(Self.ascii[Int(b)], style: style) }
                col += 1
            }
            return col
        }
        for ch in text {
            let w = DisplayWidth.of(ch)
            if w == 0 { continue }
            if col + w > right { break }
            if col >= max(c.x, 0) {
                self[col, y] = Cell(ch, style: style)
                if w == 2 { self[col + 1, y] = Cell(" ", style: style, isContinuation: true) }
            }
            col += w
        }
        return col
    }

    /// The ASCII characters by code, so the ASCII path of `put` makes no `Character` from bytes.
    private static let ascii: [Character] = (0..<128).map { Character(Unicode.Scalar(UInt8($0))) }

    /// Fills a rectangle with spaces in `style`.
    public mutating func fill(_ r: Rect, style: Style = .plain, char: Character = " ") {
        let x0 = max(0, r.x), y0 = max(0, r.y), x1 = min(width, r.maxX), y1 = min(height, r.maxY)
        guard x0 < x1, y0 < y1 else { return }
        for y in y0..<y1 { for x in x0..<x1 { self[x, y] = Cell(char, style: style) } }
    }

    /// Restyles a span without changing its text (cursor rows, highlights).
    public mutating func restyle(x: Int, y: Int, width w: Int, _ transform: (inout Style) -> Void) {
        guard y >= 0, y < height else { return }
        for cx in max(0, x)..<min(width, x + w) { transform(&cells[y * width + cx].style) }
    }

    /// The buffer as text, one line per row, trailing spaces kept so layouts are visible in snapshots.
    public func text() -> String {
        var lines: [String] = []
        lines.reserveCapacity(height)
        for y in 0..<height {
            var line = ""
            for x in 0..<width {
                let cell = self[x, y]
                if !cell.isContinuation { line.append(cell.grapheme) }
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// Row indices whose cells differ from `other` (every row when the sizes differ); the backend
    /// repaints only these.
    public func changedRows(since other: ScreenBuffer) -> [Int] {
        guard other.width == width, other.height == height else { return Array(0..<height) }
        var rows: [Int] = []
        for y in 0..<height {
            let start = y * width
            if cells[start..<start + width] != other.cells[start..<start + width] { rows.append(y) }
        }
        return rows
    }
}
