import Foundation
import XCTest

/// The reducer and the views are pure: no file-system, process, environment or clock call in them
/// or in the state and row-model files they call. Work like that belongs in an `Effect`.
final class PurityTests: XCTestCase {
    static let app = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/FleetTUI")

    /// Reducer*, Views/, and what they reach in App/ (state, key map, palette, filters, row models).
    static func pureFiles() throws -> [URL] {
        let fm = FileManager.default
        let views = try fm.contentsOfDirectory(at: app.appendingPathComponent("Views"), includingPropertiesForKeys: nil)
        let appDir = try fm.contentsOfDirectory(at: app.appendingPathComponent("App"), includingPropertiesForKeys: nil)
        let reached = ["AppState", "Action", "Key", "KeyMap", "Layout", "Palette", "FilterMatcher", "FleetSearch",
                       "ServicesRows", "NetworkRows", "VarsRows", "VarsScreenState", "DeployScreenState", "Event"]
        let app = appDir.filter { u in
            let name = u.deletingPathExtension().lastPathComponent
            return name.hasPrefix("Reducer") || reached.contains(name)
        }
        return (views + app).filter { $0.pathExtension == "swift" }
    }

    func testNoFileSystemProcessOrEnvironmentCalls() throws {
        let forbidden = ["FileManager", "ProcessInfo", "Process(", "fopen(", "open(", "getenv", "Date()", "clock_gettime",
                         "contentsOfFile", "contentsOf:", "ProcessRunner", "ChildProcess", "ThemeCatalog.", "PaletteHistoryStore",
                         "InventoryLoader", "VarsRepository", "DeployHistory(", "FlakeEvaluator", "ResolvedFleet(", "DispatchQueue",
                         "Task {", "Task.detached"]
        let files = try Self.pureFiles()
        XCTAssertGreaterThan(files.count, 20, "found the sources")
        var hits: [String] = []
        for f in files {
            let lines = try String(contentsOf: f, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            for (i, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).hasPrefix("//") {
                for word in forbidden where line.contains(word) {
                    hits.append("\(f.lastPathComponent):\(i + 1): \(word)")
                }
            }
        }
        XCTAssertEqual(hits, [])
    }
}
