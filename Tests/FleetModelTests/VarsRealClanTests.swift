import FleetModel
import Foundation
import XCTest

/// The vars graph of a real clan-core clan (`../shared/real-clan/new-clan-flake`, its example
/// clan.nix): zerotier controller alpha + peers, users with a prompt, sshd with a CA.
final class VarsRealClanTests: XCTestCase {
    override func setUp() async throws {
        RealClan.useOfflineNix()
    }

    /// Real clan's zerotier: every peer declares the shared `zerotier-network-zerotier`, which depends
    /// on `zerotier-identity-alpha`, declared by the controller alone. Status and planning work on it.
    func testZerotierPeersDependOnTheControllersSharedIdentity() async throws {
        let dir = try RealClan.copy(RealClan.flake(), test: self)
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

extension VarsRealClanTests {
    /// Generating one peer: its shared network id needs the controller's identity, which only the
    /// controller declares. clan's default selection leaves it out and fails mid-run; fleet plans it
    /// first — and nothing else of the controller's.
    func testGeneratingAPeerPlansTheControllersMissingIdentity() async throws {
        let dir = try RealClan.flake()
        let catalog = try await FlakeGenerators(flake: dir, runner: ProcessVarsRunner()).load()
        let engine = VarsEngine(clanDirectory: dir, catalog: catalog, backend: NativeVarsSecrets(identities: []), runner: ProcessVarsRunner())
        let order = try engine.plan(machines: ["beta"]).generators
        let identity = try XCTUnwrap(order.firstIndex(of: .shared("zerotier-identity-alpha")), "\(order)")
        XCTAssertLessThan(identity, try XCTUnwrap(order.firstIndex(of: .shared("zerotier-network-zerotier"))))
        XCTAssertEqual(Set(order), Set(catalog.generators(for: "beta").map(\.id)).union([.shared("zerotier-identity-alpha")]),
                       "beta's generators and the identity its network needs; not alpha's own or its IP")
    }

    /// A clan on the real current clan-core whose vars are still in the 25.11 zerotier layout (LEGACY
    /// per-machine `zerotier`, plus CANONICAL `shared/zerotier-controller` and a removed machine's
    /// leftovers): clan's migration moves them, so generating mints no new identity or network id.
    func testZerotierMigrationKeepsIdentitiesAndNetworkID() async throws {
        let dir = try RealClan.copy(RealClan.flake(), test: self)
        let admin = AgeIdentity.generate(), alpha = AgeIdentity.generate(), beta = AgeIdentity.generate()
        func keyJSON(_ id: AgeIdentity) -> String { "[\n  {\n    \"publickey\": \"\(id.recipient.encoded)\",\n    \"type\": \"age\"\n  }\n]\n" }
        for (path, id) in [("sops/users/admin", admin), ("sops/machines/alpha", alpha), ("sops/machines/beta", beta)] {
            try FileManager.default.createDirectory(atPath: dir + "/" + path, withIntermediateDirectories: true)
            try keyJSON(id).write(toFile: dir + "/\(path)/key.json", atomically: true, encoding: .utf8)
        }
        let backend = NativeVarsSecrets(identities: [admin])
        func secret(_ rel: String, _ value: String, machine: String?, depth: Int) throws {
            let d = dir + "/vars/" + rel
            let up = String(repeating: "../", count: depth)
            try FileManager.default.createDirectory(atPath: d + "/users", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: d + "/users/admin", withDestinationPath: up + "sops/users/admin")
            var to = [SopsKeyRef(admin.recipient.encoded)]
            if let machine {
                try FileManager.default.createDirectory(atPath: d + "/machines", withIntermediateDirectories: true)
                try FileManager.default.createSymbolicLink(atPath: d + "/machines/\(machine)", withDestinationPath: up + "sops/machines/\(machine)")
                to.append(SopsKeyRef((machine == "alpha" ? alpha : beta).recipient.encoded))
            }
            try backend.encrypt(Array(value.utf8), to: to).write(toFile: d + "/secret", atomically: true, encoding: .utf8)
        }
        func value(_ rel: String, _ v: String) throws {
            try FileManager.default.createDirectory(atPath: dir + "/vars/" + rel, withIntermediateDirectories: true)
            try v.write(toFile: dir + "/vars/\(rel)/value", atomically: true, encoding: .utf8)
        }
        try secret("per-machine/alpha/zerotier/zerotier-identity-secret", "alpha-identity", machine: "alpha", depth: 6)
        try value("per-machine/alpha/zerotier/zerotier-network-id", "8056c2e21c000001")
        try value("per-machine/alpha/zerotier/zerotier-ip", "fd80:56c2:e21c:0:199:9300:aaaa:aaaa")
        try secret("per-machine/beta/zerotier/zerotier-identity-secret", "beta-identity", machine: "beta", depth: 6)
        try value("per-machine/beta/zerotier/zerotier-ip", "fd80:56c2:e21c:0:199:9300:bbbb:bbbb")
        try secret("shared/zerotier-controller/zerotier-identity-secret", "stale-canonical", machine: nil, depth: 5)
        try secret("per-machine/gone/zerotier/zerotier-identity-secret", "gone-identity", machine: nil, depth: 6)
        try VarsE2E.run(["git", "add", "-A"], cwd: dir)
        try VarsE2E.run(["git", "commit", "-qm", "vars in the 25.11 layout"], cwd: dir)

        let repo = VarsRepository(clanDirectory: dir)
        let catalog = try await FlakeGenerators(flake: dir, runner: ProcessVarsRunner()).load()
        XCTAssertTrue(VarsMigrations.needed(clanDirectory: dir, catalog: catalog))
        let changed = try await repo.runMigrations(catalog: catalog, environment: [:])
        XCTAssertFalse(changed.isEmpty)
        XCTAssertEqual(try VarsE2E.run(["git", "log", "-1", "--format=%s"], cwd: dir).text, "migrate: move zerotier vars to all-shared layout\n")
        XCTAssertEqual(try VarsE2E.run(["git", "status", "--porcelain", "vars"], cwd: dir).text, "", "everything moved is committed")

        // The same identities and network id, now where the current generators look.
        let reader = VarsValueReader(clanDirectory: dir, backend: backend)
        XCTAssertEqual(try reader.value(.shared("zerotier-identity-alpha"), file: "identity-secret", secret: true), Array("alpha-identity".utf8))
        XCTAssertEqual(try reader.value(.shared("zerotier-identity-beta"), file: "identity-secret", secret: true), Array("beta-identity".utf8))
        XCTAssertEqual(try String(contentsOfFile: dir + "/vars/shared/zerotier-network-zerotier/network-id/value", encoding: .utf8), "8056c2e21c000001")
        XCTAssertEqual(try String(contentsOfFile: dir + "/vars/shared/zerotier-ip-beta-zerotier/ip/value", encoding: .utf8), "fd80:56c2:e21c:0:199:9300:bbbb:bbbb")
        // Links re-pointed from the shared depth (migrate_var.py `_relink_symlinks`).
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/vars/shared/zerotier-identity-beta/identity-secret/machines/beta"),
                       "../../../../../sops/machines/beta")
        for gone in ["per-machine/alpha/zerotier", "per-machine/beta/zerotier", "per-machine/gone/zerotier", "shared/zerotier-controller"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/vars/" + gone), gone)
        }

        // Nothing zerotier is missing or would be generated again; a second run is a no-op.
        let checker = VarsStatusChecker(clanDirectory: dir, catalog: catalog)
        for m in ["alpha", "beta"] {
            let problems = try checker.status(machine: m).generators.filter { $0.id.name.hasPrefix("zerotier") && !$0.isOK }
            XCTAssertEqual(problems.map(\.id), [], m)
        }
        let engine = VarsEngine(clanDirectory: dir, catalog: catalog, backend: backend, runner: ProcessVarsRunner())
        XCTAssertEqual(try engine.plan().generators.filter { $0.name.hasPrefix("zerotier") }, [])
        XCTAssertFalse(VarsMigrations.needed(clanDirectory: dir, catalog: catalog))
        let again = try await repo.runMigrations(catalog: catalog, environment: [:])
        XCTAssertEqual(again, [])
    }
}
