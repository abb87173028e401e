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
}
