import Foundation

/// clan's `commit_files` (clan_lib/git/__init__.py:29-126) for a clan directory: every write clan
/// makes — vars, secrets, users, machines, migrations — is committed, because a flake build does not
/// see untracked files. With `CLAN_NO_COMMIT` set to anything non-empty (`bool(os.environ.get(…))`,
/// :78) new files are only registered with `git add --intent-to-add`, so the flake sees them, and
/// nothing is staged or committed.
public struct ClanGit: Sendable {
    public let directory: String
    public let runner: VarsCommandRunner
    /// Where `CLAN_NO_COMMIT` is read; nil means this process's environment.
    public var environment: [String: String]?

    public init(directory: String, runner: VarsCommandRunner, environment: [String: String]? = nil) {
        self.directory = directory
        self.runner = runner
        self.environment = environment
    }

    public var noCommit: Bool { !((environment ?? ProcessInfo.processInfo.environment)["CLAN_NO_COMMIT"] ?? "").isEmpty }

    public func git(_ args: [String]) async throws -> VarsCommandResult {
        try await runner.run(argv: ["git", "-C", directory] + args, environment: nil, workingDirectory: directory, onLine: nil)
    }

    /// The repository's git directory (a worktree's own), or an error naming the directory.
    public func gitDirectory() async throws -> String {
        let r = try await git(["rev-parse", "--absolute-git-dir"])
        guard r.status == 0 else {
            throw VarsError(directory, "not a git repository (clan commits every generated var): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stages exactly `paths` (relative to the clan directory; deleted tracked paths are staged as
    /// deletions) and commits them with `--no-verify`. Returns false when nothing changed or when
    /// `CLAN_NO_COMMIT` is set. The caller holds the clan lock.
    @discardableResult
    public func commit(paths: [String], message: String) async throws -> Bool {
        let existing = paths.filter { FileManager.default.fileExists(atPath: directory + "/" + $0) }
        if noCommit {
            // clan :86-92: `git add --intent-to-add` per path; a deletion has nothing to register.
            guard !existing.isEmpty else { return false }
            let add = try await git(["add", "--intent-to-add", "--"] + existing)
            guard add.status == 0 else { throw VarsError(directory, "git add --intent-to-add of \(existing.joined(separator: ", ")) failed: \(add.stderr)") }
            return false
        }
        var all = existing
        for p in paths where !existing.contains(p) {
            let r = try await git(["ls-files", "--", p])
            if !r.stdout.isEmpty { all.append(p) }
        }
        guard !all.isEmpty else { return false }
        let add = try await git(["add", "-A", "--"] + all)
        guard add.status == 0 else { throw VarsError(directory, "git add of \(all.joined(separator: ", ")) failed: \(add.stderr)") }
        // clan :104-112: no diff, no commit.
        let diff = try await git(["diff", "--cached", "--quiet", "--"] + all)
        if diff.status == 0 { return false }
        let c = try await git(["commit", "--no-verify", "-q", "-m", message, "--"] + all)
        guard c.status == 0 else { throw VarsError(directory, "git commit of \(all.joined(separator: ", ")) failed: \(c.stderr)\(c.stdout)") }
        return true
    }
}
