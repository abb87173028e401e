import FleetModel
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Generators run under real bubblewrap: no network (not even the host's loopback), nothing written
/// outside `$out` survives, plaintext only on a tmpfs.
final class VarsSandboxTests: XCTestCase {
    override func setUp() async throws {
        try VarsE2E.requireTools(["bwrap", "git", "bash"])
    }

    /// A TCP listener on 0.0.0.0 (host namespace); returns fd and port.
    private func listen() throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = INADDR_ANY
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && Glibc.listen(fd, 16) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard fd >= 0, ok else { throw VarsError("test", "cannot listen") }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }

    /// A one-machine clan whose `probe` generator writes what it managed to do into `$out/result`.
    private func probeClan(script: String) throws -> (String, VarsEngine) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-sandbox-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let admin = AgeIdentity.generate()
        try FileManager.default.createDirectory(atPath: dir + "/sops/users/alice", withIntermediateDirectories: true)
        try "[\n  {\n    \"publickey\": \"\(admin.recipient.encoded)\",\n    \"type\": \"age\"\n  }\n]\n"
            .write(toFile: dir + "/sops/users/alice/key.json", atomically: true, encoding: .utf8)
        let gens: JSONValue = .object(["version": JSONValue(1), "machines": .object(["m1": .object(["generators": .object([
            "probe": .object(["files": .object(["result": .object(["secret": .bool(false)])]), "script": .string(script)]),
        ])])])])
        try JSONWriter(indent: "  ").string(gens).write(toFile: dir + "/generators.json", atomically: true, encoding: .utf8)
        for args in [["init", "-q"], ["config", "user.name", "t"], ["config", "user.email", "t@example.invalid"], ["add", "-A"], ["commit", "-qm", "init"]] {
            try VarsE2E.run(["git"] + args, cwd: dir)
        }
        let catalog = try XCTUnwrap(try VarsRepository(clanDirectory: dir).loadDirectoryCatalog())
        var engine = VarsEngine(clanDirectory: dir, catalog: catalog, backend: NativeVarsSecrets(identities: [admin]), runner: ProcessVarsRunner())
        engine.workBase = "/dev/shm"  // these tests look there, whatever XDG_RUNTIME_DIR says
        return (dir, engine)
    }

    private func runProbe(_ engine: VarsEngine) async throws -> String {
        try await engine.generate(try engine.plan(machines: ["m1"]), answer: { _ in "" })
        return try String(contentsOfFile: engine.clanDirectory + "/vars/per-machine/m1/probe/result/value", encoding: .utf8)
    }

    func testNoNetworkNotEvenTheHostLoopback() async throws {
        let (fd, port) = try listen()
        defer { close(fd) }
        let hostIPs = try VarsE2E.run(["hostname", "-I"]).text.split(separator: " ").map(String.init).filter { $0.contains(".") }
        let targets = ["127.0.0.1"] + hostIPs
        // Control: from the host every target is reachable, so a "blocked" below is the sandbox's doing.
        for t in targets {
            XCTAssertEqual(try VarsE2E.run(["bash", "-c", "exec 3<>/dev/tcp/\(t)/\(port)"]).status, 0, "control: \(t):\(port) reachable from the host")
        }
        let script = targets.map { "if (exec 3<>/dev/tcp/\($0)/\(port)) 2>/dev/null; then r=\"$r open:\($0)\"; fi\n" }.joined()
            + "ip -o addr 2>/dev/null | grep -v ' lo ' | grep -q inet && r=\"$r has-interface\"\n"
            + "printf '%s' \"${r:-sealed}\" > \"$out\"/result\n"
        let (_, engine) = try probeClan(script: "r=\n" + script)
        let result = try await runProbe(engine)
        XCTAssertEqual(result, "sealed")
    }

    func testNothingOutsideOutSurvives() async throws {
        let marker = "fleet-sandbox-\(UUID().uuidString)"
        let (dir, engine) = try probeClan(script: """
            r=
            touch /usr/\(marker) 2>/dev/null && r="$r usr"
            touch /etc/\(marker) 2>/dev/null && r="$r etc"
            touch /\(marker) 2>/dev/null && r="$r root"
            mkdir -p "$(dirname /DIR)" 2>/dev/null; touch /DIR/\(marker) 2>/dev/null && r="$r clan"
            ls /DIR >/dev/null 2>&1 && r="$r clan-visible"
            ls /root >/dev/null 2>&1 && r="$r home-visible"
            test -e /etc/shadow && r="$r shadow-visible"
            echo private > /tmp/\(marker) || r="$r no-tmp"
            touch "$in"/\(marker) 2>/dev/null || true
            printf '%s' "${r:-sealed}" > "$out"/result
            """.replacingOccurrences(of: "/DIR", with: "PLACEHOLDER"))
        // The clan directory path, as the script would try to reach it.
        let script = try String(contentsOfFile: dir + "/generators.json", encoding: .utf8).replacingOccurrences(of: "PLACEHOLDER", with: dir)
        try script.write(toFile: dir + "/generators.json", atomically: true, encoding: .utf8)
        try VarsE2E.run(["git", "commit", "-qam", "probe"], cwd: dir)
        let e2 = VarsEngine(clanDirectory: dir, catalog: try XCTUnwrap(try VarsRepository(clanDirectory: dir).loadDirectoryCatalog()),
                            backend: engine.backend, runner: engine.runner)
        let result = try await runProbe(e2)
        XCTAssertEqual(result, "sealed")
        for p in ["/usr/\(marker)", "/etc/\(marker)", "/\(marker)", dir + "/\(marker)", "/tmp/\(marker)"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: p), p)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: "/dev/shm").filter { $0.hasPrefix("fleet-vars-") }
        for l in leftovers {
            XCTAssertEqual(try VarsE2E.run(["find", "/dev/shm/" + l, "-name", marker]).text, "", "work dirs are removed after the run")
        }
    }

    func testStaleWorkDirsOfDeadProcessesAreRemoved() throws {
        let base = try PrivateTestDir()  // a tmpfs dir of our own, so nothing else is touched
        let dead = base.path + "/fleet-vars-999999999-abcdef", alive = base.path + "/fleet-vars-\(getpid())-abcdef"
        let other = base.path + "/something-else"
        for d in [dead, alive, other] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: false) }
        PrivateWorkDir.removeStale(base: base.path)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dead))
        XCTAssertTrue(FileManager.default.fileExists(atPath: alive))
        XCTAssertTrue(FileManager.default.fileExists(atPath: other))
    }

    func testWorkDirsOnlyOnTmpfs() throws {
        XCTAssertThrowsError(try PrivateWorkDir(base: FileManager.default.currentDirectoryPath)) { e in
            XCTAssertTrue("\(e)".contains("not a tmpfs"), "\(e)")
        }
        let w = try PrivateWorkDir()
        var st = stat()
        XCTAssertEqual(stat(w.path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o700)
        w.remove()
        XCTAssertFalse(FileManager.default.fileExists(atPath: w.path))
    }

    /// The TUI cancels a running generation by cancelling its task: the sandbox's process group dies,
    /// nothing is stored, the private work dir is gone.
    func testCancellingTheTaskKillsTheGeneratorAndStoresNothing() async throws {
        // A sleep only this test runs (the machine is shared: another `sleep 60` may be anyone's).
        let nap = "sleep 60.\(UInt32.random(in: 100_000...999_999))"
        let (dir, engine) = try probeClan(script: "echo started; \(nap); printf late > \"$out\"/result\n")
        final class Seen: @unchecked Sendable {
            let lock = NSLock()
            var started = false
            var workDirs: [String] = []
        }
        let seen = Seen()
        let before = Set(try FileManager.default.contentsOfDirectory(atPath: "/dev/shm").filter { $0.hasPrefix("fleet-vars-") })
        let task = Task {
            try await engine.generate(try engine.plan(machines: ["m1"]), answer: { _ in "" }, events: { e in
                if case .output(_, let line, _) = e, line == "started" { seen.lock.lock(); seen.started = true; seen.lock.unlock() }
            })
        }
        while !(seen.lock.withLock { seen.started }) { try await Task.sleep(nanoseconds: 20_000_000) }
        seen.workDirs = try FileManager.default.contentsOfDirectory(atPath: "/dev/shm").filter { $0.hasPrefix("fleet-vars-") && !before.contains($0) }
        XCTAssertEqual(seen.workDirs.count, 1, "the running generator's private dir")
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("expected cancellation")
        } catch is CancellationError {
        } catch {
            XCTFail("expected CancellationError, got \(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/vars/per-machine/m1/probe"))
        for w in seen.workDirs { XCTAssertFalse(FileManager.default.fileExists(atPath: "/dev/shm/" + w), "work dir \(w) removed") }
        XCTAssertEqual(try VarsE2E.run(["pgrep", "-f", nap]).status, 1, "the generator's processes are gone")
    }

    func testAFailingScriptReportsItsStderr() async throws {
        let (_, engine) = try probeClan(script: "echo 'cannot do it' >&2; exit 3\n")
        do {
            _ = try await runProbe(engine)
            XCTFail("expected failure")
        } catch {
            XCTAssertTrue("\(error)".contains("script failed with exit status 3:\ncannot do it"), "\(error)")
        }
    }

    /// NixOS has no /usr/bin/bwrap and no /bin/bash: both come from PATH (bwrap run from a directory
    /// of its own here, bash from where PATH finds it).
    func testBwrapAndBashComeFromPATH() async throws {
        let bin = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-bin-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: bin) }
        let hostBwrap = try XCTUnwrap(GeneratorSandbox.which("bwrap", path: ProcessInfo.processInfo.environment["PATH"] ?? ""))
        try FileManager.default.copyItem(atPath: hostBwrap, toPath: bin + "/bwrap")
        let sandbox = try GeneratorSandbox.detect(environment: ["PATH": bin + ":/usr/bin:/bin"], noSandbox: false)
        XCTAssertEqual(sandbox.mode, .bubblewrap(URL(fileURLWithPath: bin + "/bwrap").resolvingSymlinksInPath().path))
        XCTAssertEqual(sandbox.bash, URL(fileURLWithPath: "/usr/bin/bash").resolvingSymlinksInPath().path)
        var (_, engine) = try probeClan(script: "printf '%s' \"$BASH\" > \"$out\"/result\n")
        engine.sandbox = sandbox
        let result = try await runProbe(engine)
        XCTAssertEqual(result, sandbox.bash)
        XCTAssertThrowsError(try GeneratorSandbox.detect(environment: ["PATH": "/nonexistent"], noSandbox: false)) { e in
            XCTAssertTrue("\(e)".contains("bash"), "\(e)")
        }
        // No bwrap on PATH: clan's refusal, pointing at --no-sandbox.
        let onlyBash = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-bash-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: onlyBash, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: onlyBash) }
        try FileManager.default.createSymbolicLink(atPath: onlyBash + "/bash", withDestinationPath: sandbox.bash)
        XCTAssertThrowsError(try GeneratorSandbox.detect(environment: ["PATH": onlyBash], noSandbox: false)) { e in
            XCTAssertTrue("\(e)".contains("Re-run 'vars generate' with '--no-sandbox' to disable sandboxing"), "\(e)")
        }
    }

    /// `--no-sandbox`: plain `bash -c` with the caller's environment (as clan), minus the admin's
    /// age keys, and `$in`/`$out` at the private work dir.
    func testNoSandboxRunsPlainBashWithoutTheAdminKeys() async throws {
        let env = ["PATH": "/usr/bin:/bin", "FLEET_PROBE": "passed-through", "SOPS_AGE_KEY": "AGE-SECRET-KEY-1NOTREAL", "SOPS_AGE_KEY_FILE": "/k"]
        let sandbox = try GeneratorSandbox.detect(environment: env, noSandbox: true)
        XCTAssertEqual(sandbox.mode, .none)
        var (_, engine) = try probeClan(script: "printf '%s %s %s' \"$FLEET_PROBE\" \"${SOPS_AGE_KEY:-no-key}${SOPS_AGE_KEY_FILE:-}\" \"$(stat -f -c %T \"$out\")\" > \"$out\"/result\n")
        engine.sandbox = sandbox
        let result = try await runProbe(engine)
        XCTAssertEqual(result, "passed-through no-key tmpfs")
    }

    /// The work dir goes to the user's private runtime tmpfs when there is one, not /dev/shm.
    func testWorkBasePrefersTheUsersRuntimeTmpfs() throws {
        let runtime = try PrivateTestDir()  // a 0700 dir on a tmpfs, standing in for /run/user/<uid>
        XCTAssertEqual(try WorkBase.resolve(environment: ["XDG_RUNTIME_DIR": runtime.path]), runtime.path)
        XCTAssertEqual(try WorkBase.resolve(environment: ["XDG_RUNTIME_DIR": FileManager.default.currentDirectoryPath]), "/dev/shm",
                       "a runtime dir that is not a tmpfs is not used")
        XCTAssertEqual(try WorkBase.resolve(environment: ["FLEET_VARS_WORKDIR": "/x", "XDG_RUNTIME_DIR": runtime.path]), "/x")
        XCTAssertEqual(try WorkBase.resolve(environment: [:]), "/dev/shm")
    }

    /// macOS (argv only, no macOS here): `sandbox-exec` with clan's own profile — compared with the
    /// text clan-core's `create_sandbox_profile` produces — read-write only for the work dir.
    func testSandboxExecArgvUsesClansProfile() throws {
        let w = try PrivateWorkDir(base: "/dev/shm")
        defer { w.remove() }
        let sb = GeneratorSandbox(mode: .sandboxExec, bash: "/nix/store/x-bash/bin/bash", hostPath: "/usr/bin",
                                  hostEnvironment: ["PATH": "/usr/bin", "HOME": "/Users/a"])
        let (argv, env) = sb.command(work: w, script: "/nix/store/y-generator-openssh", hasPrompts: true)
        XCTAssertEqual(argv.count, 6)
        XCTAssertEqual(Array(argv.prefix(2)), ["/usr/bin/sandbox-exec", "-p"])
        XCTAssertEqual(Array(argv.suffix(3)), ["/nix/store/x-bash/bin/bash", "-c", "/nix/store/y-generator-openssh"])
        XCTAssertEqual(env?["in"], w.inDir)
        XCTAssertEqual(env?["out"], w.outDir)
        XCTAssertEqual(env?["prompts"], w.promptsDir)
        XCTAssertEqual(env?["HOME"], "/Users/a")

        // clan-core's create_sandbox_profile, run from the real source (parsed with ast, since the
        // rest of clan_lib needs a newer Python than this host's).
        let src = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-clansrc-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: src) }
        let rel = "clan-core/pkgs/clan-cli/clan_lib/sandbox_exec/__init__.py"
        XCTAssertEqual(try VarsE2E.run(["tar", "-xzf", try RealClan.sharedDirectory() + "/sources.tgz", "-C", src, rel]).status, 0)
        let py = """
            import ast, sys
            f = sys.argv[1]
            fn = [n for n in ast.parse(open(f).read()).body if isinstance(n, ast.FunctionDef) and n.name == "create_sandbox_profile"][0]
            ns = {}
            exec(compile(ast.Module(body=[fn], type_ignores=[]), f, "exec"), ns)
            sys.stdout.write(ns["create_sandbox_profile"](rw_paths=[sys.argv[2]]))
            """
        let clan = try VarsE2E.run(["python3", "-c", py, src + "/" + rel, PrivateWorkDir.resolved(w.path)])
        XCTAssertEqual(clan.status, 0, clan.stderr)
        XCTAssertEqual(argv[2], clan.text)
    }
}

/// Hardware/plugin admin keys (age-plugin-yubikey and the like): fleet runs the real `age` binary,
/// which speaks the age plugin protocol. No real plugin is installable here (Debian has none, PyPI's
/// needs a Trezor), so `age-plugin-fake` (Fixtures/vars/tools) implements the protocol's
/// recipient-v1 and identity-v1 phases.
final class VarsAgePluginTests: XCTestCase {
    override func setUp() async throws {
        try VarsE2E.requireTools(["age", "bwrap", "git", "python3"])
    }

    func testAPluginAdminGeneratesAndDecryptsAndAMissingPluginIsNamed() async throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-plugin-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: tmp + "/bin", withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: tmp) }
        try FileManager.default.copyItem(atPath: try VarsFixtures.url("tools").appendingPathComponent("age-plugin-fake").path, toPath: tmp + "/bin/age-plugin-fake")
        chmod(tmp + "/bin/age-plugin-fake", 0o755)
        let path = tmp + "/bin:" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let keyText = try VarsE2E.run([tmp + "/bin/age-plugin-fake", "--generate"]).text
        try keyText.write(toFile: tmp + "/keys.txt", atomically: true, encoding: .utf8)
        let recipient = String(keyText.split(separator: "\n")[0].dropFirst("# recipient: ".count))
        let env = ["PATH": path, "SOPS_AGE_KEY_FILE": tmp + "/keys.txt", "HOME": tmp]

        // A clan whose only admin is the plugin key.
        let dir = tmp + "/clan"
        try FileManager.default.createDirectory(atPath: dir + "/sops/users/hw", withIntermediateDirectories: true)
        try "[\n  {\n    \"publickey\": \"\(recipient)\",\n    \"type\": \"age\"\n  }\n]\n".write(toFile: dir + "/sops/users/hw/key.json", atomically: true, encoding: .utf8)
        let gens: JSONValue = .object(["version": JSONValue(1), "machines": .object(["m1": .object(["generators": .object([
            "tok": .object(["files": .object(["t": .object(["deploy": .bool(false)])]), "script": .string("printf plugin-protected > \"$out\"/t\n")]),
        ])])])])
        try JSONWriter(indent: "  ").string(gens).write(toFile: dir + "/generators.json", atomically: true, encoding: .utf8)
        for args in [["init", "-q"], ["config", "user.name", "t"], ["config", "user.email", "t@example.invalid"], ["add", "-A"], ["commit", "-qm", "init"]] {
            try VarsE2E.run(["git"] + args, cwd: dir)
        }
        let oldPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        setenv("PATH", path, 1)  // the age runs (Sops) see the plugin
        defer { setenv("PATH", oldPath, 1) }
        let backend = try NativeVarsSecrets(environment: env)
        XCTAssertEqual(backend.adminRecipients, [SopsKeyRef(recipient)])
        XCTAssertEqual(backend.plugins.map(\.plugin), ["fake"])
        let catalog = try XCTUnwrap(try VarsRepository(clanDirectory: dir).loadDirectoryCatalog())
        var engine = VarsEngine(clanDirectory: dir, catalog: catalog, backend: backend, runner: ProcessVarsRunner())
        engine.environment = env
        engine.workBase = "/dev/shm"
        try await engine.generate(try engine.plan(), answer: { _ in "" })

        let secret = dir + "/vars/per-machine/m1/tok/t/secret"
        let text = try String(contentsOfFile: secret, encoding: .utf8)
        XCTAssertEqual(try Sops.recipients(ofFileText: text), [recipient])
        XCTAssertEqual(try backend.decrypt(text), Array("plugin-protected".utf8))
        // Independently: the real age CLI opens the data key with the plugin.
        let enc = try XCTUnwrap(try JSONParser.parse(text)["sops"]?["age"]?.arrayValue?.first?["enc"]?.stringValue)
        try enc.write(toFile: tmp + "/k.age", atomically: true, encoding: .utf8)
        let key = try VarsE2E.run(["age", "-d", "-i", tmp + "/keys.txt", tmp + "/k.age"], env: ["PATH": path])
        XCTAssertEqual(key.status, 0, key.stderr)
        XCTAssertEqual(key.stdout.count, 32)

        // Without the plugin program: a clear error naming it.
        let noPlugin = try NativeVarsSecrets(environment: env.merging(["PATH": "/usr/bin:/bin"]) { $1 })
        do {
            _ = try AgePlugins.unwrap(enc, identity: noPlugin.plugins[0], environment: ["PATH": "/usr/bin:/bin"])
            XCTFail("expected an error")
        } catch {
            XCTAssertTrue("\(error)".contains("needs the program age-plugin-fake, which is not on PATH"), "\(error)")
        }
    }
}
