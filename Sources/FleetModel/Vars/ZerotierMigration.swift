import Foundation

/// clan's zerotier vars migration (clan_lib/vars/migrations/zerotier.py), run before generating
/// (`run_generators` → `run_migrations`, clan_lib/vars/generate.py:303): the 25.11 layouts
/// (LEGACY `per-machine/<m>/zerotier/…`, CANONICAL `shared/zerotier-controller/…`, OLD_FINAL
/// `per-machine/<m>/zerotier-identity`, `per-machine/<m>/zerotier-ip-<i>`) are moved to the
/// all-shared layout (`shared/zerotier-identity-<m>`, `shared/zerotier-network-<i>`,
/// `shared/zerotier-ip-<m>-<i>`), so the machines keep their identities and the network its id
/// instead of the generators minting new ones. Files move with their sops links re-pointed
/// (migrate_var.py). The caller commits `changed` as `commitMessage` and stops, as clan does.
public enum ZerotierMigration {
    public static let commitMessage = "migrate: move zerotier vars to all-shared layout"

    /// zerotier.py:114-117: clan prints this and exits 0; the user reads the guide and re-runs.
    public static let banner = """

        ╔══════════════════════════════════════════════════════════════╗
        ║             ZEROTIER MIGRATION - ACTION REQUIRED             ║
        ╠══════════════════════════════════════════════════════════════╣
        ║                                                              ║
        ║  Zerotier vars have been migrated to the new layout.         ║
        ║                                                              ║
        ║  All changes were written as a single git commit:            ║
        ║    "migrate: move zerotier vars to all-shared layout"        ║
        ║                                                              ║
        ║  READ BEFORE CONTINUING:                                     ║
        ║  https://clan.lol/docs/unstable/guides/migrations/zerotier   ║
        ║                                                              ║
        ║  Then re-run the same command.                               ║
        ║                                                              ║
        ╚══════════════════════════════════════════════════════════════╝

        """

    /// Whether the clan's definitions are the all-shared ones the migration moves to. clan runs its
    /// migration unconditionally because its CLI is pinned with its clan-core; fleet is not, so a clan
    /// still on a clan-core whose zerotier declares the per-machine `zerotier` generator (25.11) keeps
    /// its layout — moving it would make that clan-core regenerate every identity.
    public static func applies(to catalog: GeneratorCatalog) -> Bool {
        let names = Set(catalog.generators.keys.map(\.name))
        return !names.contains("zerotier") && catalog.generators.keys.contains { $0.isShared && $0.name.hasPrefix("zerotier-identity-") }
    }

    /// `_needs_migration` (zerotier.py:76-92): any LEGACY, CANONICAL or OLD_FINAL directory.
    public static func needsMigration(clanDirectory: String) -> Bool {
        let fm = FileManager.default
        if fm.fileExists(atPath: clanDirectory + "/vars/shared/zerotier-controller") { return true }
        for m in machineDirs(clanDirectory) {
            let dir = clanDirectory + "/vars/per-machine/" + m
            if isDirectory(dir + "/zerotier") || isDirectory(dir + "/zerotier-identity") { return true }
            if ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).contains(where: { $0.hasPrefix("zerotier-ip-") }) { return true }
        }
        return false
    }

    /// Moves the files; returns the changed paths relative to the clan directory (sources, replaced
    /// destinations and destinations, as `move_var_file` collects them), empty when there was nothing
    /// to do. Throws clan's text when a machine is in several zerotier instances.
    public static func migrate(clanDirectory dir: String, inventory: Inventory) throws -> [String] {
        guard isDirectory(dir + "/vars/per-machine"), needsMigration(clanDirectory: dir) else { return [] }
        let networks = try networkMap(inventory)
        try preflight(dir, networks: networks)
        var changed: [String] = []
        let shared = dir + "/vars/shared"
        deleteVar(dir + "/vars/shared/zerotier-controller", root: dir, &changed)
        for m in machineDirs(dir) {
            let machinePath = dir + "/vars/per-machine/" + m
            // LEGACY / CANONICAL (zerotier.py:186-229)
            if FileManager.default.fileExists(atPath: machinePath + "/zerotier") {
                guard let instance = networks[m]?.instance else {
                    // Not in any zerotier instance: the stale directory is removed (:188-193).
                    deleteVar(machinePath + "/zerotier", root: dir, &changed)
                    continue
                }
                try migrateLeaf(machinePath + "/zerotier/zerotier-identity-secret", to: shared + "/zerotier-identity-\(m)/identity-secret", root: dir, &changed)
                try migrateLeaf(machinePath + "/zerotier/zerotier-network-id", to: shared + "/zerotier-network-\(instance)/network-id", root: dir, &changed)
                try migrateLeaf(machinePath + "/zerotier/zerotier-ip", to: shared + "/zerotier-ip-\(m)-\(instance)/ip", root: dir, &changed)
                if FileManager.default.fileExists(atPath: machinePath + "/zerotier") {
                    guard rmdir(machinePath + "/zerotier") == 0 else {
                        throw VarsError(machinePath + "/zerotier", "cannot remove after the migration: \(String(cString: strerror(errno)))")
                    }
                }
            }
            // OLD_FINAL: the per-machine identity wins over a shared copy (:231-253).
            let oldIdentity = machinePath + "/zerotier-identity/identity-secret"
            if FileManager.default.fileExists(atPath: oldIdentity) {
                try migrateLeaf(oldIdentity, to: shared + "/zerotier-identity-\(m)/identity-secret", root: dir, &changed)
                removeIfEmpty(machinePath + "/zerotier-identity")
            }
            // Per-machine IP → shared, the instance from the directory name (:255-270).
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: machinePath)) ?? []).sorted() where name.hasPrefix("zerotier-ip-") {
                let instance = String(name.dropFirst("zerotier-ip-".count))
                let oldIP = machinePath + "/" + name + "/ip"
                if FileManager.default.fileExists(atPath: oldIP) {
                    try migrateLeaf(oldIP, to: shared + "/zerotier-ip-\(m)-\(instance)/ip", root: dir, &changed)
                }
                removeIfEmpty(machinePath + "/" + name)
            }
        }
        return changed
    }

    // MARK: - Inventory (zerotier.py:104-166)

    /// machine → (instance, role) for every machine in exactly one zerotier instance. Membership is
    /// clan's `machine_instances`: named in a role, or carrying one of a role's tags.
    static func networkMap(_ inventory: Inventory) throws -> [String: (instance: String, role: String)] {
        let resolution = InventoryResolution(inventory)
        var map: [String: (instance: String, role: String)] = [:]
        var conflicts: [String: [(String, String)]] = [:]
        for machine in inventory.machines.keys {
            let instances = Set(resolution.assignments(of: machine).map(\.ref.instance))
            let joined: [(String, String)] = inventory.instances.values.filter { instances.contains($0.name) && $0.module.name == "zerotier" }.map { inst in
                (inst.name, inst.roles["controller"]?.machines[machine] != nil ? "controller" : "peer")
            }
            if joined.count > 1 { conflicts[machine] = joined } else if let j = joined.first { map[machine] = j }
        }
        if !conflicts.isEmpty {
            var lines = ["Automatic zerotier vars migration failed: some machines belong to multiple zerotier instances.",
                         "The migration cannot determine which instance's vars directory should receive each machine's data.",
                         "", "Affected machines:"]
            for (m, list) in conflicts.sorted(by: { $0.key < $1.key }) {
                lines.append("  \(m): joined in \(list.map { "\($0.0) (\($0.1))" }.joined(separator: ", "))")
            }
            lines += ["", "To fix this, ensure each machine listed above is part of at most one zerotier",
                      "instance in the inventory, then re-run the migration.",
                      "After the migration completes, machines can join multiple instances."]
            throw VarsError("", lines.joined(separator: "\n"))
        }
        return map
    }

    /// clan removes each LEGACY `zerotier/` directory with `rmdir` after moving its three vars and
    /// crashes half-way when something else is in it; fleet refuses before moving anything.
    static func preflight(_ dir: String, networks: [String: (instance: String, role: String)]) throws {
        let known: Set<String> = ["zerotier-identity-secret", "zerotier-network-id", "zerotier-ip"]
        for m in machineDirs(dir) where networks[m] != nil {
            let legacy = dir + "/vars/per-machine/\(m)/zerotier"
            guard isDirectory(legacy) else { continue }
            let extra = ((try? FileManager.default.contentsOfDirectory(atPath: legacy)) ?? []).filter { !known.contains($0) }.sorted()
            if !extra.isEmpty {
                throw VarsError(legacy, "the zerotier migration cannot move \(extra.joined(separator: ", ")) (not a zerotier var of the 25.11 layout); move or remove it, then re-run")
            }
        }
    }

    // MARK: - Files (migrate_var.py)

    /// `_migrate_leaf`: a populated var (`value` or `secret` is a file) moves, an empty one is deleted.
    static func migrateLeaf(_ src: String, to dst: String, root: String, _ changed: inout [String]) throws {
        guard exists(src) else { return }
        if isFile(src + "/value") || isFile(src + "/secret") {
            try moveVar(src, to: dst, root: root, &changed)
        } else {
            deleteVar(src, root: root, &changed)
        }
    }

    /// `move_var_file`: the destination is replaced; relative links are re-pointed so they reach the
    /// same targets from the new depth (`_movetree_preserving_symlinks`).
    static func moveVar(_ src: String, to dst: String, root: String, _ changed: inout [String]) throws {
        let fm = FileManager.default
        changed += collectFiles(src, root: root)
        try fm.createDirectory(atPath: (dst as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if exists(dst) {
            changed += collectFiles(dst, root: root)
            try fm.removeItem(atPath: dst)
        }
        let srcReal = realPath(src) ?? src
        let links = collectSymlinks(srcReal)
        guard rename(src, dst) == 0 else { throw VarsError(src, "cannot move to \(dst): \(String(cString: strerror(errno)))") }
        let dstReal = realPath(dst) ?? dst
        for (rel, target) in links {
            let link = dstReal + "/" + rel
            var resolved = target
            if target == srcReal || target.hasPrefix(srcReal + "/") { resolved = dstReal + target.dropFirst(srcReal.count) }
            let newTarget = relativePath(resolved, from: (link as NSString).deletingLastPathComponent)
            if (try? fm.destinationOfSymbolicLink(atPath: link)) == newTarget { continue }
            unlink(link)
            try fm.createSymbolicLink(atPath: link, withDestinationPath: newTarget)
        }
        changed += collectFiles(dst, root: root)
    }

    /// `delete_var_file`.
    static func deleteVar(_ path: String, root: String, _ changed: inout [String]) {
        guard exists(path) else { return }
        changed += collectFiles(path, root: root)
        try? FileManager.default.removeItem(atPath: path)
    }

    /// `_collect_files`: every file and symlink below `path` (symlinked directories not followed),
    /// relative to `root`.
    static func collectFiles(_ path: String, root: String) -> [String] {
        var out: [String] = []
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() {
            let p = path + "/" + name
            if isDirectory(p) && !isSymlink(p) { out += collectFiles(p, root: root) } else { out.append(String(p.dropFirst(root.count + 1))) }
        }
        return out
    }

    /// `_collect_symlinks`: relative path → fully resolved absolute target.
    static func collectSymlinks(_ root: String) -> [(String, String)] {
        var out: [(String, String)] = []
        func walk(_ rel: String) {
            let dir = rel.isEmpty ? root : root + "/" + rel
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() {
                let r = rel.isEmpty ? name : rel + "/" + name
                let p = root + "/" + r
                if isSymlink(p), let t = try? FileManager.default.destinationOfSymbolicLink(atPath: p) {
                    let joined = t.hasPrefix("/") ? t : dir + "/" + t
                    out.append((r, realPath(joined) ?? URL(fileURLWithPath: joined).standardizedFileURL.path))
                } else if isDirectory(p) {
                    walk(r)
                }
            }
        }
        walk("")
        return out
    }

    /// `os.path.relpath(target, start)` for absolute, normalised paths.
    static func relativePath(_ target: String, from start: String) -> String {
        let t = target.split(separator: "/"), s = start.split(separator: "/")
        var i = 0
        while i < t.count && i < s.count && t[i] == s[i] { i += 1 }
        let parts = Array(repeating: "..", count: s.count - i) + t[i...].map(String.init)
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }

    // MARK: - Helpers

    static func machineDirs(_ dir: String) -> [String] {
        let base = dir + "/vars/per-machine"
        return ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).filter { isDirectory(base + "/" + $0) }.sorted()
    }

    static func removeIfEmpty(_ dir: String) {
        if isDirectory(dir), ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? ["x"]).isEmpty { rmdir(dir) }
    }

    static func exists(_ p: String) -> Bool { FileManager.default.fileExists(atPath: p) || isSymlink(p) }
    static func isSymlink(_ p: String) -> Bool { (try? FileManager.default.destinationOfSymbolicLink(atPath: p)) != nil }
    static func isDirectory(_ p: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: p, isDirectory: &d) && d.boolValue
    }
    static func isFile(_ p: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: p, isDirectory: &d) && !d.boolValue
    }
    static func realPath(_ p: String) -> String? {
        guard let r = realpath(p, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }
}

/// clan's `run_migrations(clan_dir)` (clan_lib/vars/migrations/__init__.py), the first step of
/// `run_generators` (clan_lib/vars/generate.py:303), before any generator is evaluated.
public enum VarsMigrations {
    /// Runs the zerotier migration under the clan lock and commits what moved (clan's
    /// `commit_files`, so `CLAN_NO_COMMIT` only registers the new paths). Returns the changed paths;
    /// when not empty the caller prints `ZerotierMigration.banner` and stops, as clan exits 0 there.
    /// The inventory is loaded only when an old layout is on disk.
    public static func needed(clanDirectory dir: String, catalog: GeneratorCatalog) -> Bool {
        ZerotierMigration.applies(to: catalog) && ZerotierMigration.needsMigration(clanDirectory: dir)
    }

    public static func run(clanDirectory dir: String, catalog: GeneratorCatalog, runner: VarsCommandRunner, environment: [String: String]? = nil,
                           inventory: () async throws -> Inventory) async throws -> [String] {
        guard needed(clanDirectory: dir, catalog: catalog) else { return [] }
        let inv = try await inventory()
        let git = ClanGit(directory: dir, runner: runner, environment: environment)
        // clan commits only inside a git work tree (clan_lib/git/__init__.py:47-51); fleet's lock file is the same.
        let gitDir = try? await git.gitDirectory()
        var lock: FileLock?
        if let gitDir { lock = try await FileLock.clan(gitDirectory: gitDir) }
        defer { withExtendedLifetime(lock) {} }
        let changed = try ZerotierMigration.migrate(clanDirectory: dir, inventory: inv)
        if !changed.isEmpty && gitDir != nil {
            try await git.commit(paths: Array(Set(changed)).sorted(), message: ZerotierMigration.commitMessage)
        }
        return changed
    }
}
