import Foundation
import XCTest
@testable import FleetModel
#if canImport(Glibc)
import Glibc
#endif

/// Real processes: `sh`, `cat`, `env`, `sleep`. No mocks.
final class ProcessRunnerTests: XCTestCase {
    let runner = ProcessRunner()

    func testExitCodesAndOutput() async throws {
        let ok = try await runner.run(ProcessSpec(argv: ["sh", "-c", "echo out; echo err >&2; exit 0"]))
        XCTAssertEqual(ok.status, 0)
        XCTAssertEqual(ok.stdoutString, "out\n")
        XCTAssertEqual(ok.stderrString, "err\n")
        XCTAssertFalse(ok.timedOut)
        let fail = try await runner.run(ProcessSpec(argv: ["sh", "-c", "exit 42"]))
        XCTAssertEqual(fail.status, 42)
        XCTAssertFalse(fail.succeeded)
        // A signal-ended process reports 128 + signal, as shells do.
        let killed = try await runner.run(ProcessSpec(argv: ["sh", "-c", "kill -TERM $$"]))
        XCTAssertEqual(killed.status, 128 + SIGTERM)
    }

    func testArgvIsNotShellInterpreted() async throws {
        let r = try await runner.run(ProcessSpec(argv: ["printf", "%s|", "a b", "$HOME", "; rm -rf /"]))
        XCTAssertEqual(r.stdoutString, "a b|$HOME|; rm -rf /|")
    }

    func testStdinIsWrittenAndClosed() async throws {
        let input = Array("line one\nline two\n".utf8)
        let r = try await runner.run(ProcessSpec(argv: ["cat"], stdin: input))
        XCTAssertEqual(r.stdout, input)
        // Large input must not deadlock against a child that writes as much back.
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
        let r2 = try await runner.run(ProcessSpec(argv: ["cat"], stdin: big))
        XCTAssertEqual(r2.stdout.count, big.count)
    }

    func testNoStdinMeansDevNull() async throws {
        let r = try await runner.run(ProcessSpec(argv: ["cat"]))
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout, [])
    }

    func testEnvironmentReplacesAndInherits() async throws {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let r = try await runner.run(ProcessSpec(argv: ["env"], environment: ["PATH": path, "FLEET_X": "1 2"]))
        let lines = Set(r.stdoutString.split(separator: "\n").map(String.init))
        XCTAssertEqual(lines, ["PATH=\(path)", "FLEET_X=1 2"])
        setenv("FLEET_INHERIT_PROBE", "yes", 1)
        let inherited = try await runner.run(ProcessSpec(argv: ["sh", "-c", "echo $FLEET_INHERIT_PROBE"]))
        XCTAssertEqual(inherited.stdoutString, "yes\n")
    }

    func testWorkingDirectory() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pr-wd-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try await runner.run(ProcessSpec(argv: ["pwd"], workingDirectory: dir))
        XCTAssertEqual(r.stdoutString, URL(fileURLWithPath: dir).resolvingSymlinksInPath().path + "\n")
        do {
            _ = try await runner.run(ProcessSpec(argv: ["pwd"], workingDirectory: dir + "/missing"))
            XCTFail("expected an error")
        } catch let e as ProcessError {
            XCTAssertEqual(e, .workingDirectoryMissing(dir + "/missing"))
        }
    }

    func testMissingProgramNamesIt() async throws {
        do {
            _ = try await runner.run(ProcessSpec(argv: ["fleet-no-such-program-xyz", "--flag"]))
            XCTFail("expected notFound")
        } catch let e as ProcessError {
            guard case .notFound(let program, _) = e else { return XCTFail("got \(e)") }
            XCTAssertEqual(program, "fleet-no-such-program-xyz")
            XCTAssertTrue(e.description.contains("fleet-no-such-program-xyz: command not found"), e.description)
        }
        do {
            _ = try await runner.run(ProcessSpec(argv: ["/nonexistent/bin/tool"]))
            XCTFail("expected notFound")
        } catch let e as ProcessError {
            XCTAssertEqual(e.description, "/nonexistent/bin/tool: no such executable")
        }
        // The spec's own PATH is the one searched.
        do {
            _ = try await runner.run(ProcessSpec(argv: ["sh"], environment: ["PATH": "/nonexistent"]))
            XCTFail("expected notFound")
        } catch ProcessError.notFound(let program, let path) {
            XCTAssertEqual(program, "sh")
            XCTAssertEqual(path, "/nonexistent")
        }
        do {
            _ = try await runner.run(ProcessSpec(argv: []))
            XCTFail("expected emptyArgv")
        } catch let e as ProcessError { XCTAssertEqual(e, .emptyArgv) }
    }

    func testChildRunsInItsOwnProcessGroup() async throws {
        let r = try await runner.run(ProcessSpec(argv: ["sh", "-c", "ps -o pgid= -p $$; echo $$"]))
        let parts = r.stdoutString.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(parts.count, 2, r.stdoutString + r.stderrString)
        XCTAssertEqual(parts.first, parts.last, "pgid must equal the child's pid")
        XCTAssertEqual(Int32(parts.last ?? ""), r.processGroup)
        XCTAssertNotEqual(Int32(parts.first ?? ""), getpgrp())
    }

    func testTimeoutKillsTheWholeProcessTree() async throws {
        let start = ContinuousClock.now
        let r = try await runner.run(ProcessSpec(argv: ["sh", "-c", "sleep 100 & sleep 100"],
                                                 timeout: .milliseconds(300), killGracePeriod: .milliseconds(500)))
        XCTAssertTrue(r.timedOut)
        XCTAssertEqual(r.status, 128 + SIGTERM)
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(30), "the timeout did not end the run")
        try await assertGroupGone(r.processGroup)
        assertNotAZombieOfOurs(r.processGroup)
    }

    func testTimeoutEscalatesToSIGKILL() async throws {
        // Both the shell and its background job ignore SIGTERM; only SIGKILL ends them.
        let r = try await runner.run(ProcessSpec(argv: ["sh", "-c", "trap '' TERM; sh -c 'trap \"\" TERM; sleep 100' & sleep 100"],
                                                 timeout: .milliseconds(300), killGracePeriod: .milliseconds(300)))
        XCTAssertTrue(r.timedOut)
        XCTAssertEqual(r.status, 128 + SIGKILL)
        try await assertGroupGone(r.processGroup)
    }

    func testCancellationKillsTheWholeProcessTree() async throws {
        let pgidBox = Box()
        let runner = runner
        let task = Task {
            try await runner.stream(ProcessSpec(argv: ["sh", "-c", "echo $$; sleep 1000 & sleep 1000"], killGracePeriod: .milliseconds(500)),
                                    onStdoutLine: { pgidBox.set(Int32($0)) }, onStderrLine: { _ in })
        }
        var pgid: Int32?
        for _ in 0..<200 where pgid == nil {
            try await Task.sleep(for: .milliseconds(25))
            pgid = pgidBox.get()
        }
        guard let pgid else { task.cancel(); return XCTFail("child never reported its pid") }
        // Let `sleep 100 &` start, then cancel.
        try await Task.sleep(for: .milliseconds(200))
        XCTAssertTrue(ChildProcess.groupAlive(pgid))
        let cancelledAt = ContinuousClock.now
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("expected CancellationError")
        } catch is CancellationError {}
        // Liveness, not performance: without the group kill this returns only when `sleep 1000` ends.
        XCTAssertLessThan(ContinuousClock.now - cancelledAt, .seconds(60), "cancellation did not end the process tree")
        try await assertGroupGone(pgid)
        assertNotAZombieOfOurs(pgid)
    }

    func testLeftoverBackgroundJobIsTerminatedWhenLeaderExits() async throws {
        // Without group teardown the background sleep would hold stdout open and the call would hang.
        let r = try await runner.run(ProcessSpec(argv: ["sh", "-c", "sleep 100 & echo started"], killGracePeriod: .milliseconds(500)))
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdoutString, "started\n")
        try await assertGroupGone(r.processGroup)
    }

    func testStreamingDeliversLinesInOrderAsTheyArrive() async throws {
        let lines = Box2()
        let r = try await runner.stream(
            ProcessSpec(argv: ["sh", "-c", "for i in 1 2 3 4 5; do echo line$i; echo err$i >&2; done; printf tail"]),
            onStdoutLine: { lines.out($0) }, onStderrLine: { lines.err($0) })
        XCTAssertEqual(lines.stdout, ["line1", "line2", "line3", "line4", "line5", "tail"])
        XCTAssertEqual(lines.stderr, ["err1", "err2", "err3", "err4", "err5"])
        XCTAssertEqual(r.stdoutString, "line1\nline2\nline3\nline4\nline5\ntail")
    }

    func testStreamingIsIncremental() async throws {
        // The first line must arrive while the process is still running (it then waits on a file we
        // create only after seeing that line).
        let flag = FileManager.default.temporaryDirectory.appendingPathComponent("pr-flag-\(getpid())").path
        try? FileManager.default.removeItem(atPath: flag)
        defer { try? FileManager.default.removeItem(atPath: flag) }
        let seen = Box2()
        let r = try await runner.stream(
            ProcessSpec(argv: ["sh", "-c", "echo first; i=0; while [ ! -e \"$1\" ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done; [ -e \"$1\" ] && echo second", "sh", flag]),
            onStdoutLine: { line in
                seen.out(line)
                if line == "first" { _ = FileManager.default.createFile(atPath: flag, contents: Data()) }
            }, onStderrLine: { _ in })
        XCTAssertEqual(seen.stdout, ["first", "second"])
        XCTAssertEqual(r.status, 0)
    }

    func testManyConcurrentRunsKeepTheirOwnOutput() async throws {
        let runner = self.runner
        let results = try await withThrowingTaskGroup(of: (Int, ProcessResult).self) { group in
            for i in 0..<24 {
                group.addTask {
                    (i, try await runner.run(ProcessSpec(argv: ["sh", "-c", "cat; echo \"$1\"; sleep 0.1; exit $(($1 % 7))", "sh", String(i)],
                                                         stdin: Array("in\(i)\n".utf8))))
                }
            }
            var all: [Int: ProcessResult] = [:]
            for try await (i, r) in group { all[i] = r }
            return all
        }
        XCTAssertEqual(results.count, 24)
        for (i, r) in results {
            XCTAssertEqual(r.stdoutString, "in\(i)\n\(i)\n")
            XCTAssertEqual(r.status, Int32(i % 7))
        }
    }

    // MARK: helpers

    private func assertGroupGone(_ pgid: Int32, file: StaticString = #filePath, line: UInt = #line) async throws {
        // Orphaned members are reparented to PID 1; allow it a moment to deliver the kill.
        for _ in 0..<100 {
            if livingMembers(of: pgid).isEmpty { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTFail("process group \(pgid) still has live members: \(livingMembers(of: pgid))", file: file, line: line)
    }

    /// Members of the group per /proc that are not zombies. (A zombie is dead; reaping orphans is
    /// PID 1's job, and some container inits do not do it.)
    private func livingMembers(of pgid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // fields[0] = state, [1] = ppid, [2] = pgrp
            return fields.count > 2 && Int32(fields[2]) == pgid && fields[0] != "Z"
        }
    }

    private func assertNotAZombieOfOurs(_ pid: Int32, file: StaticString = #filePath, line: UInt = #line) {
        var status: Int32 = 0
        // ECHILD: already reaped by the runner. 0 would mean still running, pid would mean we reaped it here.
        let rc = waitpid(pid, &status, WNOHANG)
        XCTAssertEqual(rc, -1, "the runner did not reap its child", file: file, line: line)
        XCTAssertEqual(errno, ECHILD, file: file, line: line)
    }
}

private final class Box: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int32?
    func set(_ v: Int32?) { lock.withLock { if value == nil { value = v } } }
    func get() -> Int32? { lock.withLock { value } }
}

private final class Box2: @unchecked Sendable {
    private let lock = NSLock()
    private var o: [String] = [], e: [String] = []
    func out(_ s: String) { lock.withLock { o.append(s) } }
    func err(_ s: String) { lock.withLock { e.append(s) } }
    var stdout: [String] { lock.withLock { o } }
    var stderr: [String] { lock.withLock { e } }
}
