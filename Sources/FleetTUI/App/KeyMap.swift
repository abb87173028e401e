/// Where a binding applies: everywhere, or only on one screen.
public enum KeyScope: Hashable, Sendable {
    case global
    case screen(Tab)

    public var title: String {
        switch self {
        case .global: return "Everywhere"
        case .screen(let t): return t.title
        }
    }
}

public struct KeyBinding: Equatable, Sendable {
    public var keys: [Key]
    public var action: Action
    public var scope: KeyScope
    /// Shown in the status bar of its screen.
    public var inStatusBar: Bool

    public init(_ keys: [Key], _ action: Action, _ scope: KeyScope = .global, statusBar: Bool = false) {
        self.keys = keys
        self.action = action
        self.scope = scope
        inStatusBar = statusBar
    }
}

/// The one key map. The reducer, the help overlay and the status bar all read it.
public struct KeyMap: Equatable, Sendable {
    public var bindings: [KeyBinding]

    public static let `default` = KeyMap(bindings: [
        KeyBinding([.char("j"), .down], .moveDown, statusBar: true),
        KeyBinding([.char("k"), .up], .moveUp),
        KeyBinding([.char("g"), .home], .top),
        KeyBinding([.char("G"), .end], .bottom),
        KeyBinding([.pageDown, .ctrl("f")], .pageDown),
        KeyBinding([.pageUp, .ctrl("b")], .pageUp),
        KeyBinding([.tab], .nextTab),
        KeyBinding([.backTab], .previousTab),
        KeyBinding([.char("1")], .tab1), KeyBinding([.char("2")], .tab2), KeyBinding([.char("3")], .tab3),
        KeyBinding([.char("4")], .tab4), KeyBinding([.char("5")], .tab5), KeyBinding([.char("6")], .tab6),
        KeyBinding([.char(" ")], .toggleMark, statusBar: true),
        KeyBinding([.char("a")], .markAllVisible),
        KeyBinding([.char("A")], .clearMarks),
        KeyBinding([.char("/")], .filter, statusBar: true),
        KeyBinding([.char("@")], .tagSelector, statusBar: true),
        KeyBinding([.char(":")], .palette, statusBar: true),
        KeyBinding([.char("?")], .help, statusBar: true),
        KeyBinding([.enter], .detail),
        KeyBinding([.escape], .back),
        KeyBinding([.char("r"), .ctrl("r")], .reload),
        KeyBinding([.char("q"), .ctrl("c")], .quit, statusBar: true),
        KeyBinding([.char("d")], .deploy, .screen(.fleet), statusBar: true),
        KeyBinding([.char("t")], .editTags, .screen(.fleet)),
        KeyBinding([.char("b")], .rollback, .screen(.fleet)),
        KeyBinding([.char("D")], .dryRun, .screen(.fleet)),
        KeyBinding([.char(">")], .sortNext, .screen(.fleet), statusBar: true),
        KeyBinding([.char("<")], .sortPrevious, .screen(.fleet)),
        KeyBinding([.char("I")], .invertSort, .screen(.fleet)),
        KeyBinding([.ctrl("w")], .toggleWide, .screen(.fleet), statusBar: true),
        KeyBinding([.char("d")], .deploy, .screen(.deploy), statusBar: true),
        KeyBinding([.char("x")], .cancelDeploy, .screen(.deploy), statusBar: true),
        KeyBinding([.char("R")], .retryFailed, .screen(.deploy), statusBar: true),
        KeyBinding([.char("b")], .rollback, .screen(.deploy)),
        KeyBinding([.char("n")], .nextMatch, .screen(.deploy)),
        KeyBinding([.char("N")], .previousMatch, .screen(.deploy)),
        KeyBinding([.char("y")], .copyLog, .screen(.deploy)),
        KeyBinding([.char("n")], .generateVars, .screen(.vars), statusBar: true),
        KeyBinding([.char("R")], .rotate, .screen(.vars), statusBar: true),
        KeyBinding([.char("f")], .fixVars, .screen(.vars)),
        KeyBinding([.char("v")], .reveal, .screen(.vars)),
        KeyBinding([.char("a")], .allFleets, .screen(.history), statusBar: true),
    ])

    /// The action for a key on a screen: a screen binding wins over a global one.
    public func action(for key: Key, on tab: Tab) -> Action? {
        if let b = bindings.first(where: { $0.scope == .screen(tab) && $0.keys.contains(key) }) { return b.action }
        return bindings.first(where: { $0.scope == .global && $0.keys.contains(key) })?.action
    }

    /// Every key bound to `action`, in any scope.
    public func keys(for action: Action) -> [Key] {
        bindings.filter { $0.action == action }.flatMap(\.keys)
    }

    /// What a key means in a dialog or list drawn over the screens (help, tag selector, confirm,
    /// logs): the global bindings, so a `[keys]` override of `j` moves every cursor. The mouse
    /// wheel, which no binding holds, scrolls.
    public func overlayAction(for key: Key) -> Action? {
        switch key {
        case .wheelDown: return .moveDown
        case .wheelUp: return .moveUp
        default: return bindings.first(where: { $0.scope == .global && $0.keys.contains(key) })?.action
        }
    }

    /// Status-bar hints for a screen: its own bindings first, then the global ones.
    public func hints(for tab: Tab) -> [(String, String)] {
        // Help and quit come right after the screen's own keys so they survive a narrow terminal.
        let own = bindings.filter { $0.scope == .screen(tab) && $0.inStatusBar && !$0.keys.isEmpty }
        let global = bindings.filter { $0.scope == .global && $0.inStatusBar && !$0.keys.isEmpty }
        let first = global.filter { $0.action == .help || $0.action == .quit }
        let rest = global.filter { $0.action != .help && $0.action != .quit }
        return (own + first + rest).map { (KeyMap.label($0.keys[0]), $0.action.hint) }
    }

    /// Replaces the keys of `action` (config overrides). Keys taken from other bindings in the
    /// same scope are removed there, so one key never means two things.
    public mutating func rebind(_ action: Action, to keys: [Key], scope: KeyScope? = nil) {
        for i in bindings.indices where bindings[i].action != action {
            if scope == nil || bindings[i].scope == scope { bindings[i].keys.removeAll { keys.contains($0) } }
        }
        for i in bindings.indices where bindings[i].action == action && (scope == nil || bindings[i].scope == scope) {
            bindings[i].keys = keys
        }
    }

    /// How a key is written in help, hints and config files.
    public static func label(_ key: Key) -> String {
        switch key {
        case .char(" "): return "space"
        case .char(let c): return String(c)
        case .ctrl(let c): return "ctrl-\(c)"
        case .up: return "up"
        case .down: return "down"
        case .left: return "left"
        case .right: return "right"
        case .pageUp: return "pgup"
        case .pageDown: return "pgdn"
        case .home: return "home"
        case .end: return "end"
        case .enter: return "enter"
        case .escape: return "esc"
        case .tab: return "tab"
        case .backTab: return "shift-tab"
        case .backspace: return "backspace"
        case .delete: return "delete"
        case .function(let n): return "f\(n)"
        case .mouseClick: return "click"
        case .wheelUp: return "wheel-up"
        case .wheelDown: return "wheel-down"
        }
    }

    /// Parses a key as written by `label` (config files).
    public static func parse(_ text: String) -> Key? {
        switch text {
        case "space": return .char(" ")
        case "up": return .up
        case "down": return .down
        case "left": return .left
        case "right": return .right
        case "pgup": return .pageUp
        case "pgdn": return .pageDown
        case "home": return .home
        case "end": return .end
        case "enter": return .enter
        case "esc": return .escape
        case "tab": return .tab
        case "shift-tab": return .backTab
        case "backspace": return .backspace
        case "delete": return .delete
        default:
            if text.hasPrefix("ctrl-"), text.count == 6, let c = text.last, c.isLetter { return .ctrl(Character(c.lowercased())) }
            if text.hasPrefix("f"), let n = Int(text.dropFirst()), (1...12).contains(n) { return .function(n) }
            if text.count == 1, let c = text.first { return .char(c) }
            return nil
        }
    }
}
