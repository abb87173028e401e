import FleetModel
import Foundation
import XCTest

/// The vars graph of a real clan-core clan (`../shared/real-clan/new-clan-flake`, its example
/// clan.nix): zerotier controller alpha + peers, users with a prompt, sshd with a CA.
final class VarsRealClanTests: XCTestCase {
    override func setUp() async throws {
        try VarsE2E.requireTools(["nix", "git"])
        setenv("NIX_CONFIG", "substituters =\nsandbox = false\n", 1)
    }

    /// Real clan's zerotier: every peer declares the shared `zerotier-network-zerotier`, which depends
    /// on `zerotier-identity-alpha`, declared by the controller alone. Status and planning work on it.
    func testZerotierPeersDependOnTheControllersSharedIdentity() async throws {
        let dir = try RealClanFlake.make(test: self)
        let catalog = try await FlakeGenerators(flake: dir, runner: ProcessVarsRunner()).load()
        let net = try XCTUnwrap(catalog.generators[.shared("zerotier-network-zerotier")])
        XCTAssertEqual(net.dependencies, [.shared("zerotier-identity-alpha")])
        XCTAssertEqual(net.machines, ["alpha", "beta"])
        XCTAssertFalse(catalog.generators(for: "beta").contains { $0.name == "zerotier-identity-alpha" })

        let beta = try VarsStatusChecker(clanDirectory: dir, catalog: catalog).status(machine: "beta")
        XCTAssertEqual(beta.clanText, """
            Missing secret vars:
              - openssh/ssh.id_ed25519
              - openssh-ca/id_ed25519
              - user-password-root/user-password
              - user-password-root/user-password-hash
              - zerotier-identity-beta/identity-secret
            Missing public vars:
              - openssh/ssh.id_ed25519.pub
              - openssh-ca/id_ed25519.pub
              - openssh-cert/ssh.id_ed25519-cert.pub
              - state-version/version
              - zerotier-ip-beta-zerotier/ip
              - zerotier-network-zerotier/network-id
            Invalid generators (outdated invalidation hash):
              - openssh-cert

            """)

        let engine = VarsEngine(clanDirectory: dir, catalog: catalog, backend: NativeVarsSecrets(identities: []), runner: ProcessVarsRunner())
        let order = try engine.plan().generators
        func index(_ id: GeneratorID) throws -> Int { try XCTUnwrap(order.firstIndex(of: id), "\(id) in \(order)") }
        XCTAssertEqual(order.filter { $0 == .shared("zerotier-network-zerotier") }.count, 1, "a shared generator runs once")
        XCTAssertLessThan(try index(.shared("zerotier-identity-alpha")), try index(.shared("zerotier-network-zerotier")))
        for m in ["alpha", "beta"] {
            XCTAssertLessThan(try index(.shared("zerotier-network-zerotier")), try index(.shared("zerotier-ip-\(m)-zerotier")))
            XCTAssertLessThan(try index(.shared("zerotier-identity-\(m)")), try index(.shared("zerotier-ip-\(m)-zerotier")))
            XCTAssertLessThan(try index(.shared("openssh-ca")), try index(.perMachine("openssh-cert", m)))
        }
        // Rotating the controller's identity (everything generated) reaches the network id and every
        // member's IP, over all machines.
        let rotate = VarsGraph.requestedClosure(requested: [.shared("zerotier-identity-alpha")], catalog: catalog, exists: { _ in true })
        XCTAssertEqual(rotate, [.shared("zerotier-identity-alpha"), .shared("zerotier-network-zerotier"),
                                .shared("zerotier-ip-alpha-zerotier"), .shared("zerotier-ip-beta-zerotier")])
    }
}

/// A real clan flake made by `../shared/real-clan/new-clan-flake` in a private git repository.
enum RealClanFlake {
    /// `../shared/real-clan` beside the repository (CI), or beside the worktree's parent (/work/wt/x);
    /// `FLEET_REAL_CLAN` overrides.
    static func directory() throws -> String {
        if let d = ProcessInfo.processInfo.environment["FLEET_REAL_CLAN"], !d.isEmpty { return d }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for up in ["../shared/real-clan", "../../shared/real-clan"] {
            let p = root.appendingPathComponent(up).standardizedFileURL.path
            if FileManager.default.fileExists(atPath: p + "/new-clan-flake") { return p }
        }
        XCTFail("../shared/real-clan/new-clan-flake not found beside \(root.path); set FLEET_REAL_CLAN")
        throw XCTSkip("no real clan")
    }

    /// Lays out the flake (with `clanNix`, or new-clan-flake's example) and commits it.
    static func make(test: XCTestCase, clanNix: String? = nil) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-realclan-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        var args = [try directory() + "/new-clan-flake", dir]
        if let clanNix {
            let f = dir + ".clan.nix"
            try clanNix.write(toFile: f, atomically: true, encoding: .utf8)
            test.addTeardownBlock { try? FileManager.default.removeItem(atPath: f) }
            args.append(f)
        }
        let r = try VarsE2E.run(args)
        guard r.status == 0 else { throw VarsError(dir, "new-clan-flake failed: \(r.stderr)") }
        try ".clan-inputs\n".write(toFile: dir + "/.gitignore", atomically: true, encoding: .utf8)
        for a in [["init", "-q"], ["config", "user.name", "fleet test"], ["config", "user.email", "test@example.invalid"],
                  ["add", "-A"], ["commit", "-qm", "clan"]] {
            try VarsE2E.run(["git"] + a, cwd: dir)
        }
        return dir
    }
}
