import XCTest
@testable import FleetModel

final class XDGDirectoriesTests: XCTestCase {
    func testAbsoluteVariableWinsRelativeAndEmptyAreIgnored() {
        XCTAssertEqual(XDGDirectories.fleet(.state, "fleet.log", environment: ["XDG_STATE_HOME": "/s", "HOME": "/h"]), "/s/fleet/fleet.log")
        // The spec: a relative path in the variable is invalid and ignored.
        XCTAssertEqual(XDGDirectories.fleet(.state, environment: ["XDG_STATE_HOME": "rel", "HOME": "/h"]), "/h/.local/state/fleet")
        XCTAssertEqual(XDGDirectories.fleet(.config, environment: ["XDG_CONFIG_HOME": "", "HOME": "/h"]), "/h/.config/fleet")
        XCTAssertEqual(XDGDirectories.fleet(.cache, environment: ["HOME": "/h"]), "/h/.cache/fleet")
    }

    func testEveryFleetFileUsesTheSameLookup() {
        let env = ["XDG_STATE_HOME": "/s", "XDG_CACHE_HOME": "/c", "XDG_CONFIG_HOME": "/k", "HOME": "/h"]
        XCTAssertEqual(DeployHistory.defaultPath(environment: env), "/s/fleet/history.sqlite")
        XCTAssertEqual(FleetLog.defaultPath(environment: env), "/s/fleet/fleet.log")
        XCTAssertEqual(InventoryCache.defaultDirectory(environment: env), "/c/fleet")
        #if !os(macOS)
        XCTAssertEqual(AdminKeys.defaultKeyFile(environment: env), "/k/sops/age/keys.txt")
        XCTAssertEqual(AdminKeys.defaultKeyFile(environment: ["HOME": "/h"]), "/h/.config/sops/age/keys.txt")
        #endif
    }
}
