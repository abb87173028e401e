import FleetModel
import XCTest

/// The embedded demo carries the reference fleet's quirks plus exactly these deliberate problems
/// (tools/make-demo-vars). Status is computed from files alone.
final class VarsDemoTests: XCTestCase {
    let repo = VarsRepository(clanDirectory: VarsE2E.demoDirectory)

    private func problems(admin: String) throws -> [String] {
        let catalog = try XCTUnwrap(try repo.loadDirectoryCatalog())
        let adminKey = try VarsE2E.identities([admin]).map { SopsKeyRef($0.recipient.encoded) }
        let checker = VarsStatusChecker(clanDirectory: repo.clanDirectory, catalog: catalog, adminRecipients: Set(adminKey))
        let json = VarsJSON.check(try catalog.machineNames.map { try checker.status(machine: $0) })
        XCTAssertEqual(json["ok"], .bool(false))
        return (json["machines"]?.arrayValue ?? []).flatMap { m in
            (m["problems"]?.arrayValue ?? []).map { p in
                [p["machine"]?.stringValue, p["generator"]?.stringValue, p["file"]?.stringValue, p["kind"]?.stringValue]
                    .compactMap { $0 }.joined(separator: " ")
            }
        }.sorted()
    }

    func testCheckReportsExactlyTheDeliberateProblems() throws {
        XCTAssertEqual(try problems(admin: "cameron"), [
            "cinnabar radicle ssh-public-key missing-public",
            "electrum zfs key missing-secret",
            "galena openssh-cert invalid",
            "scheelite tor_tor hostname unfixed",
            "scheelite user-password-tara user-password-hash missing-access",
        ])
    }

    func testDriftNamesTheAddedKeyAndItsOwner() throws {
        let catalog = try XCTUnwrap(try repo.loadDirectoryCatalog())
        let s = try VarsStatusChecker(clanDirectory: repo.clanDirectory, catalog: catalog).status(machine: "scheelite", generatorName: "tor_tor")
        let raquel = try VarsE2E.identities(["raquel"])[0].recipient.encoded
        XCTAssertEqual(s.generators[0].files.first { $0.file.name == "hostname" }?.problem, .unfixed(added: [SopsKeyRef(raquel)], extra: []))
    }

    func testMixedAdminRecipientsAndUndecryptableKind() throws {
        let catalog = try XCTUnwrap(try repo.loadDirectoryCatalog())
        let cameron = Set(try VarsE2E.identities(["cameron"]).map { SopsKeyRef($0.recipient.encoded) })
        let checker = VarsStatusChecker(clanDirectory: repo.clanDirectory, catalog: catalog, adminRecipients: cameron)
        func owners(_ m: String, _ g: String, _ f: String) throws -> [String] {
            let st = try checker.status(machine: m, generatorName: g)
            return st.generators[0].files.first { $0.file.name == f }?.recipients.flatMap { $0.owners.map(\.description) }.sorted() ?? []
        }
        XCTAssertEqual(try owners("cinnabar", "openssh", "ssh.id_ed25519"), ["machine:cinnabar", "user:crs58"])
        XCTAssertEqual(try owners("galena", "openssh", "ssh.id_ed25519"), ["machine:galena", "user:cameron"])
        XCTAssertEqual(try owners("cinnabar", "openssh-ca", "id_ed25519"), ["user:cameron"])
        // clan's zerotier migration kept each identity's recipients: the machine and its admin.
        XCTAssertEqual(try owners("cinnabar", "zerotier-identity-cinnabar", "identity-secret"), ["machine:cinnabar", "user:crs58"])
        XCTAssertEqual(try owners("galena", "zerotier-identity-galena", "identity-secret"), ["machine:galena", "user:cameron"])
        XCTAssertEqual(try owners("galena", "user-password-cameron", "user-password-hash"),
                       ["machine:cinnabar", "machine:electrum", "machine:galena", "machine:scheelite", "user:cameron", "user:crs58"])
        let cinnabar = try checker.status(machine: "cinnabar")
        XCTAssertTrue(cinnabar.undecryptableVars.map(\.id).contains("openssh/ssh.id_ed25519"), "cameron is not a recipient of cinnabar's host key")
        XCTAssertFalse(try checker.status(machine: "galena").undecryptableVars.map(\.id).contains("openssh/ssh.id_ed25519"))
    }

    func testDiskScanShowsOrphansAndOwners() throws {
        let scan = VarsDiskScan.scan(clanDirectory: repo.clanDirectory, inventoryMachines: repo.inventoryMachines())
        XCTAssertEqual(scan.orphanMachines, ["gcp-vm"])
        XCTAssertEqual(Set(scan.entries.filter(\.orphan).map(\.generator)),
                       ["emergency-access", "initrd-ssh", "state-version", "tor_tor", "user-password-root"],
                       "clan's zerotier migration removed gcp-vm's stale zerotier/ (in no zerotier instance)")
        XCTAssertEqual(scan.unknownKeys, [])
        XCTAssertEqual(scan.entries.filter(\.drift).map { "\($0.machine ?? "shared")/\($0.id)" }, ["scheelite/tor_tor/hostname"])
        let machineKeyAdmins = scan.sopsSecrets.map { "\($0.name):\($0.links.users.joined(separator: ","))" }
        XCTAssertEqual(machineKeyAdmins, ["argentum-age.key:cameron", "cinnabar-age.key:crs58", "electrum-age.key:crs58",
                                          "galena-age.key:cameron", "gcp-vm-age.key:crs58", "scheelite-age.key:cameron"])
        XCTAssertNil(scan.entries.first { $0.machine == "argentum" }, "darwin machines have no vars")
    }

    /// Every demo secret opens with the real `age` CLI for each linked user, and not for others.
    func testDemoSecretsDecryptWithTheAgeCLIForExactlyTheLinkedUsers() throws {
        try VarsE2E.requireTools(["age", "python3"])
        let scan = VarsDiskScan.scan(clanDirectory: repo.clanDirectory, inventoryMachines: nil)
        let script = try VarsFixtures.url("tools").appendingPathComponent("sops_age_decrypt.py").path
        let secrets = scan.entries.filter { $0.kind == .secret }
        let paths = secrets.map { repo.clanDirectory + "/vars/\($0.generatorID.relDir)/\($0.file)/secret" }
        var checked = 0
        for u in ["cameron", "crs58", "raquel"] {
            let out = try VarsE2E.run(["python3", script, "--batch", VarsE2E.keyFile(u)] + paths).text
            let results = Dictionary(out.split(separator: "\n").map { line -> (String, String) in
                let parts = line.split(separator: " ", maxSplits: 2)
                return (String(parts.count > 1 ? parts[1] : ""), String(parts[0]))
            }, uniquingKeysWith: { a, _ in a })
            for (e, path) in zip(secrets, paths) {
                let recipientUsers = Set(e.recipients.flatMap(\.owners).compactMap { if case .user(let u) = $0 { return u } else { return nil } })
                XCTAssertEqual(results[path], recipientUsers.contains(u) ? "ok" : "denied", "\(path) for \(u)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 120)
    }
}

final class VarsOverviewTests: XCTestCase {
    func testDemoOverviewHealthAndSharedAccess() throws {
        let repo = VarsRepository(clanDirectory: VarsE2E.demoDirectory)
        let cameron = Set(try VarsE2E.identities(["cameron"]).map { SopsKeyRef($0.recipient.encoded) })
        let o = try VarsOverview.load(repository: repo, catalog: try repo.loadDirectoryCatalog(), adminRecipients: cameron)
        XCTAssertEqual(o.machines.map(\.machine), ["cinnabar", "electrum", "galena", "scheelite"])
        XCTAssertEqual(o.health("cinnabar").summary, "1 missing")
        XCTAssertEqual(o.health("scheelite").summary, "1 missing, 1 unfixed")
        XCTAssertEqual(o.health("galena").summary, "1 outdated")
        XCTAssertEqual(o.health("argentum").summary, "-", "darwin machines declare no vars")
        XCTAssertGreaterThan(o.health("cinnabar").undecryptable, 0)
        XCTAssertEqual(o.shared.map(\.id.name), ["openssh-ca", "user-password-cameron", "user-password-tara",
                                                 "zerotier-identity-cinnabar", "zerotier-identity-electrum", "zerotier-identity-galena",
                                                 "zerotier-identity-scheelite", "zerotier-ip-cinnabar-zerotier", "zerotier-ip-electrum-zerotier",
                                                 "zerotier-ip-galena-zerotier", "zerotier-ip-scheelite-zerotier", "zerotier-network-zerotier"])
        XCTAssertEqual(o.sharedMissingAccess, [.shared("user-password-tara"): ["scheelite"]])
        XCTAssertEqual(o.scan.orphanMachines, ["gcp-vm"])
        let bare = try VarsOverview.load(repository: repo, catalog: nil, adminRecipients: nil)
        XCTAssertTrue(bare.machines.isEmpty)
        XCTAssertFalse(bare.scan.entries.isEmpty)
    }
}
