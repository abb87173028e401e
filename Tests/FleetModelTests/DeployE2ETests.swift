import XCTest
@testable import FleetModel

/// The pipeline API against a real testbed host (network namespace + sshd + own /nix store, see
/// testbed/README.md): secrets upload in clan's layout, stage events with build progress, history,
/// and status probes (in sync / out of sync / unreachable). Needs root; the CLI-level e2e tests
/// (parallel hosts, faults, retry, rollback, cancel) are in tests/e2e/test_deploy.py.
final class DeployE2ETests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    var dir = ""
    let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)

    func sh(_ argv: [String]) async throws -> String {
        let r = try await ProcessRunner().run(ProcessSpec(argv: argv, timeout: .seconds(120)))
        XCTAssertEqual(r.status, 0, "\(argv.joined(separator: " ")): \(r.stderrString)")
        return r.stdoutString
    }

    func testbed(_ args: String...) async throws -> String {
        try await sh([Self.repo + "/testbed/testbed"] + args + ["--dir", dir + "/tb"])
    }

    override func setUp() async throws {
        guard getuid() == 0 else {
            XCTFail("DeployE2ETests need root (the testbed creates network and mount namespaces)")
            throw XCTSkip("not root")
        }
        var template = Array("/tmp/fleet-se2e-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else { throw XCTSkip("mkdtemp") }
        dir = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let d = dir
        addTeardownBlock {
            _ = try? await ProcessRunner().run(ProcessSpec(argv: [Self.repo + "/testbed/testbed", "down", "--dir", d + "/tb"],
                                                           timeout: .seconds(120)))
            try? FileManager.default.removeItem(atPath: d)
        }
        _ = try await testbed("up", "1")
        _ = try await testbed("flake", dir + "/flake", "--gen", "a" + tag)
    }

    func options(secrets: SecretsProvider? = nil) -> DeployOptions {
        var env = ProcessInfo.processInfo.environment
        env["NIX_CONFIG"] = "substituters =\nsandbox = false\n"
        return DeployOptions(builder: .flake("path:" + dir + "/flake"), sshConfigFile: dir + "/tb/ssh_config",
                             targetOverrides: ["tb1": "root@tb1"], secretsProvider: secrets, environment: env,
                             controlDirectoryParent: dir)
    }

    func testDeployUploadsSecretsReportsStagesAndProbesStatus() async throws {
        let machine = Machine(name: "tb1")
        let ageKey = "AGE-SECRET-KEY-1FLEETE2ETESTKEYNOTAREALSECRET\(tag)"
        let tag = tag
        let provider: SecretsProvider = { m in
            [UploadSecret(remotePath: "/var/lib/sops-nix/key.txt", bytes: Array((ageKey + "\n").utf8)),
             UploadSecret(remotePath: "/var/lib/sops-nix/activation/per-machine/\(m.name)/luks/key", mode: 0o400,
                          bytes: Array("luks-\(tag)-passphrase".utf8))]
        }
        // Something stale in the upload directory must be gone afterwards (clan wipes it).
        func inHost(_ argv: String...) async throws -> String {
            try await sh([Self.repo + "/testbed/testbed", "exec", "--dir", dir + "/tb", "tb1"] + argv)
        }
        // A leftover from an earlier upload: clan wipes the destination first, so it must go.
        _ = try await inHost("sh", "-c", "mkdir -p /var/lib/sops-nix && echo x > /var/lib/sops-nix/stale")

        let history = try DeployHistory(path: dir + "/history.sqlite")
        let run = DeployPipeline(history: history).start([machine], options: options(secrets: provider))
        var events: [DeployEvent] = []
        for await e in run.events { events.append(e) }
        let summary = await run.result()
        XCTAssertEqual(summary.failed.map(\.host), [], "\(summary.hosts.map(\.outcome))")

        // Stages in order, each started then finished.
        let started = events.compactMap { e -> DeployStage? in if case .stageStarted = e.kind { return e.stage } else { return nil } }
        XCTAssertEqual(started, DeployStage.allCases)
        XCTAssertTrue(events.contains { e in
            if case .progress(let f?, let m) = e.kind, e.stage == .build { return f > 0 && m.hasPrefix("built ") } else { return false }
        }, "build progress from nix's internal-json log")
        guard case .runFinished = events.last?.kind else { return XCTFail("last event is runFinished") }

        // The clan layout on the host, permissions as clan sets them. /var/lib/sops-nix is a tmpfs
        // private to the host's mount namespace (as on a real machine), so look from inside it.
        let key = try await inHost("cat", "/var/lib/sops-nix/key.txt")
        XCTAssertEqual(key, ageKey + "\n")
        let luks = try await inHost("cat", "/var/lib/sops-nix/activation/per-machine/tb1/luks/key")
        XCTAssertEqual(luks, "luks-\(tag)-passphrase")
        let stale = try await inHost("sh", "-c", "test -e /var/lib/sops-nix/stale && echo present || echo absent")
        XCTAssertEqual(stale, "absent\n")
        let modes = try await inHost("stat", "-c", "%a", "/var/lib/sops-nix", "/var/lib/sops-nix/key.txt")
        XCTAssertEqual(modes, "700\n400\n")

        // History: the run, its stages, and no secret anywhere in the logs or events.
        let log = try history.log(deployID: run.id, host: "tb1")
        XCTAssertTrue(log.contains("== secrets: ok"), log)
        XCTAssertFalse(log.contains(ageKey) || log.contains("passphrase"))
        XCTAssertFalse(events.contains { "\($0)".contains(ageKey) })
        XCTAssertNotNil(history.eta(host: "tb1", stage: .build))

        // Status: in sync now; out of sync once the flake moves on; unreachable when sshd refuses.
        let prober = try StatusProber(options: options())
        let s1 = await prober.probe(machine)
        XCTAssertTrue(s1.isReachable, "\(s1.reachability)")
        XCTAssertEqual(s1.runningSystem, summary.hosts.first?.systemPath)
        XCTAssertEqual(s1.inSync, true)
        _ = try await testbed("flake", dir + "/flake", "--gen", "b" + tag)
        let s2 = await prober.probe(machine)
        XCTAssertEqual(s2.inSync, false)
        XCTAssertTrue(s2.flakeSystem?.hasSuffix("-testbed-b" + tag) == true, "\(s2)")
        await prober.close()
        _ = try await testbed("fault", "tb1", "sshd-refuse")
        let prober2 = try StatusProber(options: options())
        let s3 = await prober2.probe(machine, evaluate: false)
        guard case .unreachable(let why) = s3.reachability else { return XCTFail("\(s3)") }
        XCTAssertTrue(why.contains("Connection refused"), why)
        XCTAssertNil(s3.inSync)
        await prober2.close()
    }
}
