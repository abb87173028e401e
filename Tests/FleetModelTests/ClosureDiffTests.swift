import XCTest
@testable import FleetModel

/// `ClosureDiff` against nix's own `nix store diff-closures` on two real systems in the local
/// store, and nix's name/version split on the names that trip it up.
final class ClosureDiffTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    func testNameAndVersionFollowNix() {
        let cases: [(String, String, String)] = [
            ("/nix/store/abc-firefox-120.0.1", "firefox", "120.0.1"),
            ("/nix/store/abc-openssl-3.0.12-bin", "openssl", "3.0.12"),          // output suffix stripped
            ("/nix/store/abc-glibc-2.38-44-lib64", "glibc", "2.38-44"),
            ("/nix/store/abc-nixos-system-cinnabar-25.11.20251120.abcdef", "nixos-system-cinnabar", "25.11.20251120.abcdef"),
            ("/nix/store/abc-etc", "etc", ""),
            ("/nix/store/abc-unit-script-foo-start", "unit-script-foo", ""),     // "-start" reads as an output, as in nix
            ("/nix/store/abc-python3.11-requests-2.31.0", "python3.11-requests", "2.31.0"),
        ]
        for (path, name, version) in cases {
            let (n, v) = ClosureDiff.nameAndVersion(storePath: path)
            XCTAssertEqual(n, name, path)
            XCTAssertEqual(v, version, path)
        }
    }

    func testLinesGroupVersionsAndSizes() {
        let before = [ClosureDiff.PathInfo(path: "/nix/store/a-firefox-120.0", narSize: 100_000),
                      ClosureDiff.PathInfo(path: "/nix/store/b-etc", narSize: 1000),
                      ClosureDiff.PathInfo(path: "/nix/store/c-old-tool-1.0", narSize: 10)]
        let after = [ClosureDiff.PathInfo(path: "/nix/store/d-firefox-121.0", narSize: 120_480),
                     ClosureDiff.PathInfo(path: "/nix/store/e-etc", narSize: 1200),
                     ClosureDiff.PathInfo(path: "/nix/store/f-zsh-5.9", narSize: 9000)]
        XCTAssertEqual(ClosureDiff.lines(before: before, after: after), [
            "firefox: 120.0 → 121.0, +20.0 KiB",
            "old-tool: 1.0 → ∅",
            "zsh: ∅ → 5.9, +8.8 KiB",
        ])
    }

    func testPathInfoJSONOldAndNewShapes() {
        let old = Array(#"[{"path":"/nix/store/a-x-1","narSize":5},{"path":"/nix/store/b-y","valid":false}]"#.utf8)
        XCTAssertEqual(ClosureDiff.pathInfos(json: old), [ClosureDiff.PathInfo(path: "/nix/store/a-x-1", narSize: 5)])
        let new = Array(#"{"/nix/store/a-x-1":{"narSize":5},"/nix/store/b-y":null}"#.utf8)
        XCTAssertEqual(ClosureDiff.pathInfos(json: new), [ClosureDiff.PathInfo(path: "/nix/store/a-x-1", narSize: 5)])
        XCTAssertNil(ClosureDiff.pathInfos(json: Array("error".utf8)))
    }

    /// Two testbed systems built with the real nix: our lines are nix's, colours aside.
    func testSameLinesAsNixStoreDiffClosures() async throws {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        var env = ProcessInfo.processInfo.environment
        env["NIX_CONFIG"] = "substituters =\nsandbox = false\n"
        func run(_ argv: [String]) async throws -> ProcessResult {
            let r = try await ProcessRunner().run(ProcessSpec(argv: argv, environment: env, timeout: .seconds(300)))
            XCTAssertEqual(r.status, 0, "\(argv.joined(separator: " ")): \(r.stderrString)")
            return r
        }
        func build(_ gen: String, payload: Int) async throws -> String {
            try await run(["nix-build", "--no-out-link", Self.repo + "/testbed/system.nix", "--argstr", "machine", "cdiff",
                           "--argstr", "generation", gen, "--arg", "payloadBytes", "\(payload)"])
                .stdoutString.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let a = try await build("1-" + tag, payload: 0)
        let b = try await build("2-" + tag, payload: 20_000)
        let nix = try await run(SystemBuilder.nix + ["store", "diff-closures", a, b]).stdoutString
        let expected = nix.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
            .split(separator: "\n").map(String.init)
        let infos = { (p: String) async throws -> [ClosureDiff.PathInfo] in
            ClosureDiff.pathInfos(json: try await run(ClosureDiff.pathInfoArgv(p)).stdout) ?? []
        }
        let ours = ClosureDiff.lines(before: try await infos(a), after: try await infos(b))
        XCTAssertEqual(ours, expected)
        XCTAssertTrue(ours.contains("testbed-etc-cdiff: 1-\(tag) → 2-\(tag)"), "\(ours)")
        XCTAssertTrue(ours.contains { $0.hasPrefix("testbed-payload-cdiff: ∅ → 2-\(tag), +") }, "\(ours)")
    }
}
