/// A key press or mouse action, decoded from curses by the backend (or synthesised in tests).
public enum Key: Equatable, Sendable {
    case char(Character)
    case ctrl(Character)          // ctrl-a … ctrl-z, lower-case letter
    case up, down, left, right
    case pageUp, pageDown, home, end
    case enter, escape, tab, backTab, backspace, delete
    case function(Int)
    case mouseClick(x: Int, y: Int)
    case wheelUp(x: Int, y: Int)
    case wheelDown(x: Int, y: Int)
}

extension Key {
    /// A printable character: text in an input line rather than a command.
    public var isText: Bool {
        if case .char = self { return true }
        return false
    }
}
