import FleetModel
import Foundation
import Synchronization
import XCTest

/// Real clan flakes for tests: `tests/real-clan/make-flake` over `../shared/real-clan/new-clan-flake`
/// (clan-core d7c35d9 and its inputs, offline). Each distinct clan.nix is laid out and locked once per
/// test run and shared read-only; `copy` gives a test its own committed git clan on top of it.
///
///     let dir = try RealClan.flake()                       // new-clan-flake's 3-machine example
///     let mine = try RealClan.copy(RealClan.flake(clanNix: text), test: self)   // writable
enum RealClan {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static var makeFlake: String { repoRoot + "/tests/real-clan/make-flake" }

    /// `../shared/real-clan` (new-clan-flake, sources.tgz): beside the repository as on CI, else beside
    /// the nearest ancestor (a worktree in /work/wt/x), as make-flake finds it; FLEET_REAL_CLAN overrides.
    static func sharedDirectory() throws -> String {
        if let d = ProcessInfo.processInfo.environment["FLEET_REAL_CLAN"], !d.isEmpty { return d }
        var dir = URL(fileURLWithPath: repoRoot)
        while dir.path != "/" {
            let candidate = dir.deletingLastPathComponent().appendingPathComponent("shared/real-clan").path
            if FileManager.default.isExecutableFile(atPath: candidate + "/new-clan-flake") { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        throw RealClanError("no ../shared/real-clan/new-clan-flake beside \(repoRoot) or its parents; set FLEET_REAL_CLAN")
    }

    /// nix as the tests run it: flakes on, no substituters (offline), no build sandbox (the stand-in
    /// packages link host binaries). Set into this process, which fleet's model code inherits.
    static let nixConfig = "experimental-features = nix-command flakes\nsubstituters =\nsandbox = false\n"
    static func useOfflineNix() { setenv("NIX_CONFIG", nixConfig, 1) }

    private static let cache = Mutex<[String: String]>([:])
    private static let root = FileManager.default.temporaryDirectory
        .appendingPathComponent("fleet-real-clan-\(ProcessInfo.processInfo.processIdentifier)").path
    /// The flakes go when the test process exits: ~80 MB a run, which plain `swift test` runs
    /// (outside tools/test-suite's private TMPDIR) otherwise pile up in /tmp.
    private static let removeRootAtExit: Void = { atexit { try? FileManager.default.removeItem(atPath: RealClan.root) } }()

    /// The flake for `clanNix` (nil: new-clan-flake's example clan), built once per run. Do not modify it.
    static func flake(clanNix: String? = nil) throws -> String {
        try VarsE2E.requireTools(["nix", "git"])
        useOfflineNix()
        _ = removeRootAtExit
        let key = clanNix ?? ""
        return try cache.withLock { built in
            if let dir = built[key] { return dir }
            let dir = root + "/flake-\(built.count)"
            var argv = [makeFlake, dir]
            if let clanNix {
                try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
                let file = root + "/clan-\(built.count).nix"
                try clanNix.write(toFile: file, atomically: true, encoding: .utf8)
                argv.append(file)
            }
            let r = try VarsE2E.run(argv, env: ["NIX_CONFIG": nixConfig])
            guard r.status == 0 else { throw RealClanError("make-flake failed (\(r.status)): \(r.stderr)") }
            built[key] = dir
            return dir
        }
    }

    /// A clan.nix from `tests/real-clan/` (e.g. the done-when scenario).
    static func clanNix(_ file: String) throws -> String {
        try String(contentsOfFile: repoRoot + "/tests/real-clan/" + file, encoding: .utf8)
    }

    /// A private, committed git copy of `flake` (its inputs stay shared), removed after the test.
    static func copy(_ flake: String, test: XCTestCase) throws -> String {
        let dir = try makeTempDir(test, "real-clan")
        for item in try FileManager.default.contentsOfDirectory(atPath: flake) where item != ".clan-inputs" && item != ".git" {
            try FileManager.default.copyItem(atPath: flake + "/" + item, toPath: dir + "/" + item)
        }
        for args in [["init", "-q"], ["config", "user.name", "Fleet Test"], ["config", "user.email", "fleet@example.invalid"],
                     ["add", "-A"], ["commit", "-qm", "real clan"]] {
            let r = try VarsE2E.run(["git", "-C", dir] + args, env: gitEnvironment())
            guard r.status == 0 else { throw RealClanError("git \(args): \(r.stderr)") }
        }
        return dir
    }

    /// `nix eval --json DIR#ATTR`, parsed.
    static func eval(_ flake: String, _ attr: String, apply: String? = nil) throws -> JSONValue {
        var argv = ["nix", "eval", "--json", "\(flake)#\(attr)"]
        if let apply { argv += ["--apply", apply] }
        let r = try VarsE2E.run(argv, env: ["NIX_CONFIG": nixConfig])
        guard r.status == 0 else { throw RealClanError("nix eval \(attr): \(r.stderr)") }
        return try JSONParser.parse(r.stdout)
    }
}

struct RealClanError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
