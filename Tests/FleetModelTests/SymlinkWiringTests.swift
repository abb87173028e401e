import Foundation
import XCTest
@testable import FleetModel

/// A secret's recipients come from symlinks (`<secret>/users/<u> -> ../../../users/<u>`). A link that
/// leaves the repository is refused with an error naming it; clan's own relative links still work.
final class SymlinkWiringTests: XCTestCase {
    private var base = ""
    private let fm = FileManager.default

    override func setUpWithError() throws {
        base = fm.temporaryDirectory.appendingPathComponent("symlinks-\(UUID().uuidString)").path
    }

    override func tearDownWithError() throws { try? fm.removeItem(atPath: base) }

    private func keyFile(_ dir: String) throws -> String {
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let r = AgeIdentity.generate().recipient.encoded
        try SopsKeyFile.render([.init(publicKey: r, type: "age")]).write(toFile: dir + "/key.json", atomically: true, encoding: .utf8)
        return r
    }

    func testRecipientLinkInsideRepositoryIsFollowed() throws {
        let repo = base + "/repo"
        let admin = try keyFile(repo + "/sops/users/admin")
        let secret = repo + "/vars/per-machine/m/g/f"
        try fm.createDirectory(atPath: secret + "/users", withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: secret + "/users/admin", withDestinationPath: "../../../../../../sops/users/admin")
        XCTAssertEqual(try SopsKeyStore(clanDirectory: repo).recipients(ofSecretDirectory: secret), [admin])
    }

    func testRecipientLinkOutsideRepositoryIsRefused() throws {
        let repo = base + "/repo"
        _ = try keyFile(repo + "/sops/users/admin")
        _ = try keyFile(base + "/elsewhere/users/mallory")  // parent folder named "users", like a real one
        let secret = repo + "/sops/secrets/s"
        try fm.createDirectory(atPath: secret + "/users", withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: secret + "/users/mallory", withDestinationPath: "../../../../../elsewhere/users/mallory")
        XCTAssertThrowsError(try SopsKeyStore(clanDirectory: repo).recipients(ofSecretDirectory: secret)) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("refusing a recipient symlink") && text.contains("points outside the repository"), text)
            XCTAssertTrue(text.contains("users/mallory"), text)
        }
        // An absolute link elsewhere is refused the same way.
        try fm.removeItem(atPath: secret + "/users/mallory")
        try fm.createSymbolicLink(atPath: secret + "/users/mallory", withDestinationPath: base + "/elsewhere/users/mallory")
        XCTAssertThrowsError(try SopsKeyStore(clanDirectory: repo).recipients(ofSecretDirectory: secret))
    }
}
