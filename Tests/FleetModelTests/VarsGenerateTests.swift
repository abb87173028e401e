import FleetModel
import Foundation
import XCTest

/// generate / rotate / fix end to end on a private git copy of the demo: real bwrap, real git,
/// real `age` CLI for checking who can decrypt.
final class VarsGenerateTests: XCTestCase {
    override func setUp() async throws {
        try VarsE2E.requireTools(["bwrap", "git", "age", "ssh-keygen", "openssl", "python3"])
    }

    private func engine(_ dir: String, as users: [String]) throws -> VarsEngine {
        let catalog = try XCTUnwrap(try VarsRepository(clanDirectory: dir).loadDirectoryCatalog())
        return VarsEngine(clanDirectory: dir, catalog: catalog, backend: NativeVarsSecrets(identities: try VarsE2E.identities(users)),
                          runner: ProcessVarsRunner())
    }

    private func commits(_ dir: String) throws -> [String] {
        try VarsE2E.run(["git", "log", "--format=%s"], cwd: dir).text.split(separator: "\n").map(String.init)
    }

    private let noPrompts: PromptAnswerer = { req in throw VarsError("", "unexpected prompt \(req.generator.name)/\(req.prompt.name)") }

    func testRotatingTheSharedCARegeneratesEveryCertAndNothingElse() async throws {
        let dir = try VarsE2E.demoCopy(test: self)
        let e = try engine(dir, as: ["cameron", "crs58"])
        let before = VarsE2E.snapshot(dir)
        let commitsBefore = try commits(dir)

        // Requested from every machine, clan's health check refuses: scheelite has recipient drift.
        do {
            try await e.generate(try e.plan(machines: ["cinnabar", "electrum", "galena", "scheelite"], generator: "openssh-ca", regenerate: true),
                                 answer: noPrompts)
            XCTFail("expected the health check to refuse")
        } catch {
            XCTAssertTrue("\(error)".hasPrefix("Health check failed for machine scheelite:"), "\(error)")
        }
        XCTAssertEqual(VarsE2E.snapshot(dir), before)

        // Requested from cinnabar: the shared CA and every machine's certificate (dependants over all machines).
        let plan = try e.plan(machines: ["cinnabar"], generator: "openssh-ca", regenerate: true)
        let certs = ["cinnabar", "electrum", "galena", "scheelite"].map { GeneratorID.perMachine("openssh-cert", $0) }
        XCTAssertEqual(plan.generators, [.shared("openssh-ca")] + certs)
        XCTAssertEqual(plan.affectedMachines, ["cinnabar", "electrum", "galena", "scheelite"])
        XCTAssertEqual(plan.prompts, [])

        let done = try await e.generate(plan, answer: noPrompts)
        XCTAssertEqual(done, plan.generators)

        // One commit per generator, clan's messages, in run order.
        let newCommits = Array(try commits(dir).dropLast(commitsBefore.count).reversed())
        XCTAssertEqual(newCommits, ["vars: update via generator openssh-ca (shared)"]
                       + certs.map { "vars: update via generator openssh-cert (machine: \($0.machine!))" })

        // Dependants changed, everything else byte-identical.
        let after = VarsE2E.snapshot(dir)
        let changed = Set(after.keys).union(before.keys).filter { after[$0] != before[$0] }.sorted()
        let expected = ["vars/shared/openssh-ca/id_ed25519/secret", "vars/shared/openssh-ca/id_ed25519.pub/value",
                        "vars/per-machine/galena/openssh-cert/.validation-hash"]
            + certs.map { "vars/per-machine/\($0.machine!)/openssh-cert/ssh.id_ed25519-cert.pub/value" }
        XCTAssertEqual(changed, expected.sorted())

        // The new CA key opens for cameron only (its only linked user), with the real age CLI.
        let caSecret = dir + "/vars/shared/openssh-ca/id_ed25519/secret"
        let caKey = try XCTUnwrap(try VarsE2E.ageDecrypt(caSecret, user: "cameron"))
        XCTAssertNil(try VarsE2E.ageDecrypt(caSecret, user: "crs58"))
        // …and every certificate is signed by the new CA (checked with ssh-keygen).
        let shm = try PrivateTestDir()
        try Data(caKey).write(to: URL(fileURLWithPath: shm.path + "/ca"))
        chmod(shm.path + "/ca", 0o600)
        let caPub = try VarsE2E.run(["ssh-keygen", "-y", "-f", shm.path + "/ca"]).text.split(whereSeparator: { $0 == " " || $0 == "\n" }).prefix(2).joined(separator: " ")
        XCTAssertEqual(String(decoding: after["vars/shared/openssh-ca/id_ed25519.pub/value"] ?? [], as: UTF8.self)
            .split(whereSeparator: { $0 == " " || $0 == "\n" }).prefix(2).joined(separator: " "), caPub)
        let caFingerprint = try VarsE2E.run(["ssh-keygen", "-l", "-f", shm.path + "/ca"]).text.split(separator: " ")[1]
        for c in certs {
            let certFile = dir + "/vars/per-machine/\(c.machine!)/openssh-cert/ssh.id_ed25519-cert.pub/value"
            let info = try VarsE2E.run(["ssh-keygen", "-L", "-f", certFile]).text
            XCTAssertTrue(info.contains("Signing CA: ED25519 \(caFingerprint)"), info)
            XCTAssertTrue(info.contains("\(c.machine!).zt"), info)
        }
        // The outdated hash on galena is fixed by the rotation.
        let checker = VarsStatusChecker(clanDirectory: dir, catalog: e.catalog)
        XCTAssertEqual(try checker.status(machine: "galena").invalidGenerators, [])
    }

    func testFixReencryptsWithoutARemovedRecipientAndWithAnAddedOne() async throws {
        let dir = try VarsE2E.demoCopy(test: self)
        let secretDir = dir + "/vars/shared/user-password-cameron/user-password"
        let plain = try XCTUnwrap(try VarsE2E.ageDecrypt(secretDir + "/secret", user: "crs58"))
        try FileManager.default.removeItem(atPath: secretDir + "/users/crs58")
        let e = try engine(dir, as: ["cameron"])
        let fixed = try await e.fix(machines: ["cinnabar", "scheelite"])
        XCTAssertTrue(fixed.contains("vars/shared/user-password-cameron/user-password"), "\(fixed)")
        XCTAssertTrue(fixed.contains("vars/per-machine/scheelite/tor_tor/hostname"), "\(fixed)")
        XCTAssertNil(try VarsE2E.ageDecrypt(secretDir + "/secret", user: "crs58"), "removed recipient must not decrypt")
        XCTAssertEqual(try VarsE2E.ageDecrypt(secretDir + "/secret", user: "cameron"), plain, "same plaintext for the remaining recipient")
        XCTAssertNotNil(try VarsE2E.ageDecrypt(dir + "/vars/per-machine/scheelite/tor_tor/hostname/secret", user: "raquel"), "added recipient decrypts")
        XCTAssertEqual(Array(try commits(dir).prefix(2)), ["secrets: fix vars for scheelite", "secrets: fix vars for cinnabar"])
        let checker = VarsStatusChecker(clanDirectory: dir, catalog: e.catalog)
        XCTAssertEqual(try checker.status(machine: "scheelite").unfixedSecretVars.map(\.id), [])
    }

    func testHiddenPersistedPromptIsUsedThenReusedAndNeverWrittenInPlaintext() async throws {
        let dir = try VarsE2E.demoCopy(test: self)
        let e = try engine(dir, as: ["crs58"])
        let answer = "s3cret-from-the-test-\(UUID().uuidString)"
        let plan = try e.plan(machines: ["electrum"], generator: "user-password-root", regenerate: true)
        XCTAssertEqual(plan.prompts.map { "\($0.generator.name)/\($0.prompt.name):\($0.prompt.kind.rawValue)" },
                       ["user-password-root/user-password:hidden"])
        XCTAssertEqual(plan.prompts.first?.text, "Password of root (leave empty to generate one)")
        final class Count: @unchecked Sendable { var n = 0 }
        let asked = Count()
        try await e.generate(plan, answer: { _ in asked.n += 1; return answer })
        XCTAssertEqual(asked.n, 1)
        let pwFile = dir + "/vars/per-machine/electrum/user-password-root/user-password/secret"
        XCTAssertEqual(try VarsE2E.ageDecrypt(pwFile, user: "crs58"), Array(answer.utf8))
        // The hash matches the answer (sha-512 crypt, recomputed with openssl and the same salt).
        let hash = String(decoding: try XCTUnwrap(try VarsE2E.ageDecrypt(dir + "/vars/per-machine/electrum/user-password-root/user-password-hash/secret", user: "crs58")), as: UTF8.self)
        let salt = hash.split(separator: "$")[1]
        XCTAssertEqual(try VarsE2E.run(["openssl", "passwd", "-6", "-salt", String(salt), "-stdin"], stdin: Array(answer.utf8)).text
            .trimmingCharacters(in: .newlines), hash)

        // Without --regenerate the persisted answer is reused silently.
        let again = try e.plan(machines: ["electrum"], generator: "user-password-root")
        XCTAssertEqual(again.prompts, [])
        XCTAssertEqual(again.reusedPrompts.map(\.prompt.name), ["user-password"])
        try await e.generate(again, answer: noPrompts)
        XCTAssertEqual(try VarsE2E.ageDecrypt(pwFile, user: "crs58"), Array(answer.utf8))

        // The answer is nowhere on disk in plaintext: not in the repo, not in git, not left in /dev/shm.
        XCTAssertEqual(try VarsE2E.run(["grep", "-rl", answer, dir]).status, 1)
        XCTAssertEqual(try VarsE2E.run(["git", "log", "-p", "--all"], cwd: dir).text.contains(answer), false)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm"))?.filter { $0.hasPrefix("fleet-vars-") } ?? []
        for l in leftovers { XCTAssertEqual(try VarsE2E.run(["grep", "-rl", answer, "/dev/shm/" + l]).status, 1) }
    }

    /// clan's `StoreBase.set` (_types.py:289-294): every declaring machine's per-machine copy goes,
    /// not only the one generating.
    func testSwitchingToSharedRemovesEveryDeclaringMachinesOldCopy() async throws {
        let dir = try VarsE2E.demoCopy(test: self)
        let genFile = dir + "/generators.json"
        var doc = try JSONParser.parse(String(contentsOfFile: genFile, encoding: .utf8))
        guard case .object(var top) = doc, case .object(var templates)? = top["templates"], case .object(var sv)? = templates["state-version"] else {
            return XCTFail("demo generators.json shape")
        }
        sv["share"] = .bool(true)
        templates["state-version"] = .object(sv)
        top["templates"] = .object(templates)
        doc = .object(top)
        try JSONWriter(indent: "  ").string(doc).write(toFile: genFile, atomically: true, encoding: .utf8)
        let e = try engine(dir, as: ["cameron"])
        try await e.generate(try e.plan(machines: ["galena"], generator: "state-version"), answer: noPrompts)
        XCTAssertEqual(try String(contentsOfFile: dir + "/vars/shared/state-version/version/value", encoding: .utf8), "25.05")
        let declaring = try XCTUnwrap(e.catalog.generators[.shared("state-version")]).machines
        XCTAssertGreaterThan(declaring.count, 1)
        for m in declaring {
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/vars/per-machine/\(m)/state-version/version"), m)
        }
        let show = try VarsE2E.run(["git", "show", "--name-status", "--no-renames", "--format=%s", "HEAD"], cwd: dir).text
        XCTAssertTrue(show.hasPrefix("vars: update via generator state-version (shared)"), show)
        for m in declaring {
            XCTAssertTrue(show.contains("D\tvars/per-machine/\(m)/state-version/version/value"), "the deletion is committed: \(show)")
        }
        XCTAssertEqual(try VarsE2E.run(["git", "status", "--porcelain", "vars"], cwd: dir).text, "")
    }

    /// clan_lib/git/__init__.py:78-98: with CLAN_NO_COMMIT set, generated vars are written and
    /// registered (`git add --intent-to-add`) but nothing is committed.
    func testCLANNoCommitWritesWithoutCommitting() async throws {
        let dir = try VarsE2E.demoCopy(test: self)
        var e = try engine(dir, as: ["cameron"])
        e.environment = ["CLAN_NO_COMMIT": "1"]
        try VarsE2E.run(["git", "rm", "-rq", "vars/per-machine/galena/state-version"], cwd: dir)
        try VarsE2E.run(["git", "commit", "-qm", "drop"], cwd: dir)
        let commitsBefore = try commits(dir)
        try await e.generate(try e.plan(machines: ["galena"], generator: "state-version"), answer: noPrompts)
        XCTAssertEqual(try commits(dir), commitsBefore)
        XCTAssertEqual(try String(contentsOfFile: dir + "/vars/per-machine/galena/state-version/version/value", encoding: .utf8), "25.05")
        let status = try VarsE2E.run(["git", "status", "--porcelain", "vars/per-machine/galena/state-version"], cwd: dir).text
        XCTAssertTrue(status.contains(" A vars/per-machine/galena/state-version/version/value"), "registered with --intent-to-add: \(status)")
    }

    func testAGeneratorThatMissesADeclaredFileChangesNothing() async throws {
        let dir = try VarsE2E.demoCopy(test: self)
        // Break state-version's script in the copy: it no longer writes `version`.
        let genFile = dir + "/generators.json"
        let text = try String(contentsOfFile: genFile, encoding: .utf8).replacingOccurrences(of: "echo -n 25.05 > \\\"$out\\\"/version", with: "echo oops")
        XCTAssertTrue(text.contains("echo oops"), "state-version's script changed: update this test")
        try text.write(toFile: genFile, atomically: true, encoding: .utf8)
        let e = try engine(dir, as: ["cameron"])
        let before = VarsE2E.snapshot(dir)
        let commitsBefore = try commits(dir)
        do {
            try await e.generate(try e.plan(machines: ["galena"], generator: "state-version", regenerate: true), answer: noPrompts)
            XCTFail("expected a failure")
        } catch {
            XCTAssertTrue("\(error)".contains("did not generate a file for 'version'"), "\(error)")
        }
        XCTAssertEqual(VarsE2E.snapshot(dir), before)
        XCTAssertEqual(try commits(dir), commitsBefore)
    }
}

/// A private 0700 directory on /dev/shm for test plaintext (CA keys to check signatures).
final class PrivateTestDir {
    let path: String
    init() throws {
        path = "/dev/shm/fleet-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}
