import Foundation
import XCTest
@testable import FleetModel

final class SafePathTests: XCTestCase {
    private var root = ""
    private var outside = ""
    private let fm = FileManager.default

    override func setUpWithError() throws {
        let base = fm.temporaryDirectory.appendingPathComponent("safepath-\(UUID().uuidString)").path
        root = base + "/repo"
        outside = base + "/outside"
        for d in ["sops/users/admin", "sops/machines/cinnabar", "vars/per-machine/cinnabar/openssh/ssh.id_ed25519/users",
                  "vars/per-machine/cinnabar/openssh/ssh.id_ed25519/machines"] {
            try fm.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true)
        }
        try fm.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try "{}".write(toFile: root + "/sops/users/admin/key.json", atomically: false, encoding: .utf8)
        try "secret".write(toFile: outside + "/key.json", atomically: false, encoding: .utf8)
        // clan's own layout: relative links from the secret dir up to sops/.
        try link("vars/per-machine/cinnabar/openssh/ssh.id_ed25519/users/admin", "../../../../../../sops/users/admin")
        try link("vars/per-machine/cinnabar/openssh/ssh.id_ed25519/machines/cinnabar", "../../../../../../sops/machines/cinnabar")
    }

    override func tearDownWithError() throws {
        try? fm.removeItem(atPath: (root as NSString).deletingLastPathComponent)
    }

    private func link(_ at: String, _ target: String) throws {
        try fm.createSymbolicLink(atPath: root + "/" + at, withDestinationPath: target)
    }

    private func real(_ p: String) -> String { SafePath.realPath(p)! }

    func testResolvesClanRelativeSymlinksInside() throws {
        let p = try SafePath.resolve("vars/per-machine/cinnabar/openssh/ssh.id_ed25519/users/admin/key.json", in: root)
        XCTAssertEqual(p, real(root) + "/sops/users/admin/key.json")
        XCTAssertEqual(try SafePath.checkTree("vars", in: root), 2)
    }

    func testResolvesMissingComponentsForCreation() throws {
        XCTAssertEqual(try SafePath.resolve("vars/shared/new-gen/file/secret", in: root),
                       real(root) + "/vars/shared/new-gen/file/secret")
    }

    func testRefusesRelativeSymlinkOutside() throws {
        try link("vars/per-machine/cinnabar/openssh/ssh.id_ed25519/users/evil", "../../../../../../../outside")
        XCTAssertThrowsError(try SafePath.resolve("vars/per-machine/cinnabar/openssh/ssh.id_ed25519/users/evil/key.json", in: root)) {
            let e = $0 as! SafePathError
            XCTAssertTrue(e.message.contains("users/evil -> ../../../../../../../outside points outside the repository"), e.message)
        }
        XCTAssertThrowsError(try SafePath.checkTree("vars", in: root))
        XCTAssertNoThrow(try SafePath.checkTree("sops", in: root))
    }

    func testRefusesAbsoluteSymlinkOutside() throws {
        try link("sops/users/mallory", outside)
        XCTAssertThrowsError(try SafePath.resolve("sops/users/mallory/key.json", in: root)) {
            XCTAssertTrue(($0 as! SafePathError).message.contains("points outside the repository"))
        }
        XCTAssertThrowsError(try SafePath.checkTree("sops", in: root))
    }

    func testRefusesDanglingSymlinkOutside() throws {
        try link("sops/users/ghost", "/nonexistent/elsewhere")
        XCTAssertThrowsError(try SafePath.checkTree("sops", in: root))
    }

    func testAcceptsAbsoluteSymlinkInside() throws {
        try link("sops/users/alias", real(root) + "/sops/users/admin")
        XCTAssertEqual(try SafePath.resolve("sops/users/alias/key.json", in: root), real(root) + "/sops/users/admin/key.json")
    }

    func testRefusesChainThatEscapesLater() throws {
        // An inside link to a second link whose target leaves: caught on the second hop.
        try link("sops/hop2", "../../outside")
        try link("sops/users/hop1", "../hop2")
        XCTAssertThrowsError(try SafePath.resolve("sops/users/hop1/key.json", in: root))
        XCTAssertThrowsError(try SafePath.checkTree("sops", in: root))
    }

    func testRefusesDotDotOutOfRepository() {
        XCTAssertThrowsError(try SafePath.resolve("../outside/key.json", in: root))
        XCTAssertThrowsError(try SafePath.resolve("vars/../../outside", in: root))
        XCTAssertEqual(try SafePath.resolve("vars/../sops", in: root), real(root) + "/sops")
    }

    func testRefusesAbsoluteRequestAndNul() {
        XCTAssertThrowsError(try SafePath.resolve("/etc/passwd", in: root))
        XCTAssertThrowsError(try SafePath.resolve("vars/a\u{0}b", in: root))
    }

    func testRefusesSymlinkLoop() throws {
        try link("sops/loop-a", "loop-b")
        try link("sops/loop-b", "loop-a")
        XCTAssertThrowsError(try SafePath.resolve("sops/loop-a/x", in: root)) {
            XCTAssertTrue(($0 as! SafePathError).message.contains("too many levels"))
        }
    }
}
