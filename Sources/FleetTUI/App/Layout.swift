/// Screen geometry shared by the reducer (how many rows a page is) and the views (where to draw).
public enum Layout {
    public static let minWidth = 60
    public static let minHeight = 15

    public static func isTooSmall(width: Int, height: Int) -> Bool {
        width < minWidth || height < minHeight
    }

    /// Rows above the table body: header, tabs, column titles.
    public static let bodyTop = 3
    /// Rows below it: the status bar.
    public static let bodyBottom = 1

    /// Visible table rows for a terminal of `height` rows.
    public static func tableRows(height: Int) -> Int { max(1, height - bodyTop - bodyBottom) }
}
