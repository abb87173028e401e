/// What a user can ask for. Keys map to actions through the one `KeyMap`, so the help overlay,
/// the status bar and config overrides can never drift from what the reducer does.
public enum Action: String, CaseIterable, Sendable {
    case quit
    case moveDown = "move-down", moveUp = "move-up"
    case top, bottom
    case pageDown = "page-down", pageUp = "page-up"
    case nextTab = "next-tab", previousTab = "previous-tab"
    case tab1 = "tab-1", tab2 = "tab-2", tab3 = "tab-3", tab4 = "tab-4", tab5 = "tab-5", tab6 = "tab-6"
    case toggleMark = "toggle-mark", markAllVisible = "mark-all", clearMarks = "clear-marks"
    case filter, tagSelector = "tag-selector", palette, help
    case detail, back
    case reload
    case deploy
    case cancelDeploy = "cancel-deploy", retryFailed = "retry-failed", rollback
    case generateVars = "generate-vars", rotate, fixVars = "fix-vars", reveal
    case editTags = "edit-tags"
    case allFleets = "all-fleets"
    case dryRun = "dry-run"
    case nextMatch = "next-match", previousMatch = "previous-match", copyLog = "copy-log"
    case sortNext = "sort-next", sortPrevious = "sort-previous", invertSort = "invert-sort", toggleWide = "toggle-wide"

    /// One line for the help overlay.
    public var summary: String {
        switch self {
        case .quit: return "quit (asks first while a deploy runs)"
        case .moveDown: return "move down"
        case .moveUp: return "move up"
        case .top: return "go to the first row"
        case .bottom: return "go to the last row"
        case .pageDown: return "page down"
        case .pageUp: return "page up"
        case .nextTab: return "next screen"
        case .previousTab: return "previous screen"
        case .tab1: return "Fleet screen"
        case .tab2: return "Services screen"
        case .tab3: return "Deploy screen"
        case .tab4: return "Vars screen"
        case .tab5: return "Network screen"
        case .tab6: return "History screen"
        case .toggleMark: return "mark / unmark the row"
        case .markAllVisible: return "mark every visible row"
        case .clearMarks: return "clear all marks"
        case .filter: return "filter rows (name, tag, role, description; !term negates)"
        case .tagSelector: return "select machines by tag"
        case .palette: return "command palette"
        case .help: return "this help"
        case .detail: return "open detail"
        case .back: return "back / close / clear filter"
        case .reload: return "reload the fleet"
        case .deploy: return "deploy marked machines (or the current one)"
        case .cancelDeploy: return "cancel the running deploy"
        case .retryFailed: return "retry failed hosts"
        case .rollback: return "roll back the selected machine"
        case .generateVars: return "generate missing vars"
        case .rotate: return "regenerate (rotate) the selected generator"
        case .fixVars: return "fix recipients (re-encrypt)"
        case .reveal: return "reveal the selected secret value"
        case .editTags: return "edit the machine's tags"
        case .allFleets: return "show every fleet's deploys / only this fleet's"
        case .dryRun: return "dry run: what a deploy of the marked machines (or the current one) would upload, build, copy and activate"
        case .nextMatch: return "log pane: next line matching the / search"
        case .previousMatch: return "log pane: previous matching line"
        case .copyLog: return "log pane: copy the matched line, or the whole log (OSC 52)"
        case .sortNext: return "sort by the next column"
        case .sortPrevious: return "sort by the previous column"
        case .invertSort: return "invert the sort order"
        case .toggleWide: return "wide view: also SYSTEM and OVERLAY IP"
        }
    }

    /// Short label for the status bar.
    public var hint: String {
        switch self {
        case .moveDown, .moveUp: return "move"
        case .toggleMark: return "mark"
        case .filter: return "filter"
        case .tagSelector: return "tags"
        case .palette: return "cmd"
        case .help: return "help"
        case .quit: return "quit"
        case .detail: return "detail"
        case .deploy: return "deploy"
        case .rotate: return "rotate"
        case .generateVars: return "generate"
        case .fixVars: return "fix"
        case .reveal: return "reveal"
        case .cancelDeploy: return "cancel"
        case .retryFailed: return "retry"
        case .rollback: return "rollback"
        case .editTags: return "tags"
        case .allFleets: return "all fleets"
        case .dryRun: return "preview"
        case .sortNext: return "sort"
        case .toggleWide: return "wide"
        default: return rawValue
        }
    }
}
