import XCTest
@testable import FleetTUI

final class LogSetupTests: XCTestCase {
    func testOptionAnywhereBeforeDoubleDashIsTakenOut() throws {
        let (level, rest, warning) = try LogSetup.parse(["deploy", "--log-level", "debug", "a", "--", "--log-level=x"], environment: [:])
        XCTAssertEqual(level, .debug)
        XCTAssertEqual(rest, ["deploy", "a", "--", "--log-level=x"])
        XCTAssertNil(warning)
        XCTAssertEqual(try LogSetup.parse(["--log-level=trace", "list"], environment: ["FLEET_LOG": "error"]).0, .trace)
    }

    func testEnvironmentAndDefaults() throws {
        XCTAssertEqual(try LogSetup.parse([], environment: ["FLEET_LOG": "warning"]).0, .warning)
        XCTAssertEqual(try LogSetup.parse([], environment: [:]).0, .info)
        let (level, _, warning) = try LogSetup.parse([], environment: ["FLEET_LOG": "loud"])
        XCTAssertEqual(level, .info)
        XCTAssertEqual(warning?.contains("FLEET_LOG: unknown level 'loud'"), true)
        XCTAssertThrowsError(try LogSetup.parse(["--log-level", "loud"], environment: [:]))
    }

    func testCommandPathNamesOnlySubcommands() {
        XCTAssertEqual(LogSetup.commandPath(["vars", "rotate", "electrum", "--prompt-value", "g.f=secret"]), "vars rotate")
        XCTAssertEqual(LogSetup.commandPath(["--flake", ".", "deploy", "x"]), "deploy")
        XCTAssertEqual(LogSetup.commandPath([]), "ui")
    }
}
