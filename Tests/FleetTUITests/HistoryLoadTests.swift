import XCTest
@testable import FleetTUI
@testable import FleetModel

/// The dashboard's history load (`DeployEffects.loadHistory`, one of the start's effects).
final class HistoryLoadTests: XCTestCase {
    var dir: String!

    override func setUp() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-historyload-\(UUID().uuidString)").path
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func load(path: String, source: InventorySource) -> [Event] {
        let queue = EventQueue()
        var settings = DeploySettings()
        settings.historyPath = path
        DeployEffects(queue: queue, source: source, settings: settings).loadHistory(allFleets: false)
        let deadline = Date().addingTimeInterval(10)
        var events: [Event] = []
        while events.isEmpty, Date() < deadline {
            events = queue.drain()
            if events.isEmpty { usleep(2000) }
        }
        return events
    }

    /// No run recorded yet: the History screen lists nothing, as an empty database does, and the
    /// start neither creates the database nor opens SQLite for it (docs/PERFORMANCE.md, "UI peak RSS,
    /// eighth session").
    func testNoHistoryFileListsNothingAndCreatesNothing() throws {
        let path = dir + "/state/fleet/history.sqlite"
        let events = load(path: path, source: .directory(path: "/nonexistent"))
        guard events.count == 1, case .historyLoaded(let entries) = events[0] else { return XCTFail("\(events)") }
        XCTAssertEqual(entries, [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/state"))
    }

    /// A recorded run is listed, as before.
    func testRecordedHistoryIsListed() throws {
        let path = dir + "/h.sqlite"
        let source = InventorySource.directory(path: "/nonexistent")
        let h = try DeployHistory(path: path, fleet: source.fleetKey)
        try h.begin(id: "r1", kind: .deploy, hosts: 1, startedAt: Date(timeIntervalSince1970: 100))
        let events = load(path: path, source: source)
        guard events.count == 1, case .historyLoaded(let entries) = events[0] else { return XCTFail("\(events)") }
        XCTAssertEqual(entries.map(\.id), ["r1"])
        XCTAssertEqual(entries.map(\.kind), ["deploy"])
    }

    /// An empty database (created, nothing recorded) lists what a missing one does.
    func testEmptyHistoryListsNothing() throws {
        let path = dir + "/h.sqlite"
        _ = try DeployHistory(path: path)
        let events = load(path: path, source: .directory(path: "/nonexistent"))
        guard events.count == 1, case .historyLoaded(let entries) = events[0] else { return XCTFail("\(events)") }
        XCTAssertEqual(entries, [])
    }

    /// A history file that is not a database: the error names the file and what went wrong, the
    /// file is left as it was (was: "no deploy history yet", the error dropped).
    func testUnreadableHistoryNamesTheFile() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/h.sqlite"
        let junk = Data(repeating: 0x41, count: 4096)
        try junk.write(to: URL(fileURLWithPath: path))
        let events = load(path: path, source: .directory(path: "/nonexistent"))
        guard events.count == 1, case .historyFailed(let message) = events[0] else { return XCTFail("\(events)") }
        XCTAssertTrue(message.hasPrefix("deploy history \(path): "), message)
        XCTAssertTrue(message.contains("not a database"), message)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), junk)
    }
}
