import XCTest
@testable import FleetModel
import Logging

final class FleetLogTests: XCTestCase {
    func testLinesAreAppendedAndRotatedKeepingThree() throws {
        let dir = try makeTempDir(self, "log")
        let path = dir + "/state/fleet/fleet.log"
        let file = try XCTUnwrap(LogFile(path: path, maxBytes: 100))
        for i in 0..<20 { file.append("line \(i) " + String(repeating: "x", count: 30)) }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/state/fleet").sorted()
        XCTAssertEqual(names, ["fleet.log", "fleet.log.1", "fleet.log.2", "fleet.log.3"])
        let current = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(current.hasSuffix("line 19 " + String(repeating: "x", count: 30) + "\n"), current)
        XCTAssertLessThanOrEqual(current.utf8.count, 100)
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        XCTAssertEqual((attrs[.posixPermissions] as? NSNumber)?.intValue, 0o600)
    }

    func testHandlerWritesOneLinePerEventWithLevelLabelAndMetadata() throws {
        let dir = try makeTempDir(self, "log")
        let file = try XCTUnwrap(LogFile(path: dir + "/fleet.log", maxBytes: 1 << 20))
        var logger = Logger(label: "fleet.test") { FileLogHandler(label: $0, file: file) }
        logger.logLevel = .debug
        logger.debug("two\nlines", metadata: ["host": "cinnabar"])
        logger.trace("below the level")
        let text = try String(contentsOfFile: dir + "/fleet.log", encoding: .utf8)
        XCTAssertTrue(text.contains(" debug fleet.test: two\n    lines host=cinnabar\n"), text)
        XCTAssertFalse(text.contains("below the level"))
    }

    func testAgeSecretKeysAreMasked() {
        let key = "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS3Y0JKH"
        XCTAssertEqual(FleetLog.mask("got \(key) here"), "got AGE-SECRET-KEY-\(Redactor.mask) here")
        XCTAssertEqual(FleetLog.mask("plain"), "plain")
    }

    func testLevelNames() {
        XCTAssertEqual(FleetLog.level(named: "DEBUG"), .debug)
        XCTAssertNil(FleetLog.level(named: "verbose"))
    }

    /// The log line's timestamp is written by hand (no format style set up at start): the same text
    /// as `Date.ISO8601FormatStyle(includingFractionalSeconds: true)`, milliseconds included.
    func testTimestampIsTheISO8601FormatStyles() {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        var rng = SystemRandomNumberGenerator()
        var dates = [Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: -0.5), Date(timeIntervalSince1970: 1_798_930_784.9996),
                     Date(timeIntervalSince1970: 1_798_930_784.123), Date(timeIntervalSince1970: 951_782_400.001), Date()]
        for _ in 0..<5000 { dates.append(Date(timeIntervalSince1970: Double.random(in: -2_000_000_000...4_000_000_000, using: &rng))) }
        for _ in 0..<5000 { dates.append(Date(timeIntervalSince1970: Double(Int.random(in: 1_700_000_000...1_900_000_000, using: &rng)) + Double(Int.random(in: 0...999, using: &rng)) / 1000)) }
        for d in dates {
            XCTAssertEqual(FileLogHandler.timestamp(d), d.formatted(style), "\(d.timeIntervalSince1970)")
        }
    }
}
