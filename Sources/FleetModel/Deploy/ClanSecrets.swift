import Foundation

/// The secrets `clan machines update` uploads for a machine (clan_lib/vars/upload.py
/// `upload_secret_vars`, clan_lib/vars/secret_modules/sops.py `populate_dir`, clan-formats.md §2.8):
/// the machine's age key (`sops/secrets/<m>-age.key`) as `key.txt`, and every secret var file with
/// `neededFor == "activation"` (clan does not look at `deploy` here) as `activation/<rel_dir>/<file>`.
/// When the machine has no age key clan returns early: nothing is uploaded, activation files
/// neither. Every file goes up with mode 0400 (clan's upload.py forces it; `SecretUploadPlan`).
/// `services` and `users` secrets travel encrypted in the closure and are not uploaded.
///
/// Flake-level (per-export) generators: clan adds all of them to every machine's upload
/// (upload.py:13-15), so an activation file would go to every machine — but d7c35d9 never sets their
/// files' generator (generate.py:407-428), and reading the value fails with "Generator cannot be
/// None" (var.py:38-41): `clan machines update` stops there. fleet uploads such a file
/// (`activation/per-export/<key>/<g>/<f>`) only to the machines in its `deploy` list — its sops
/// recipients —, never to the others. Without activation files clan and fleet upload the same. Decrypted
/// in memory with the admin's age keys (`AdminKeys`: SOPS_AGE_KEY_FILE, SOPS_AGE_KEY,
/// ~/.config/sops/age/keys.txt).
///
/// The generator definitions come from `generators.json`, else from the flake (`FlakeGenerators`,
/// one nix evaluation per provider, shared by every machine of the run).
public enum ClanSecrets {
    /// A provider over a clan directory. `catalog` gives the generator definitions (nil: the
    /// directory's `generators.json`, else its flake's; without definitions only the machine key is
    /// uploaded). `uploadDirectory`: per machine (`clan.core.vars.sops.secretUploadDirectory`).
    public static func provider(clanDirectory: String, catalog: GeneratorCatalog? = nil,
                                environment: [String: String] = ProcessInfo.processInfo.environment,
                                uploadDirectory: @escaping @Sendable (String) -> String = { _ in SecretUploadPlan.defaultDirectory },
                                decrypt: Bool = true)
        -> SecretsProvider {
        let dir = URL(fileURLWithPath: clanDirectory).standardizedFileURL.path
        let definitions = CatalogOnce(given: catalog, repository: VarsRepository(clanDirectory: dir))
        return { machine in
            try await collect(clanDirectory: dir, machine: machine.name, catalog: { try await definitions.value() },
                              environment: environment, uploadDirectory: uploadDirectory(machine.name), decrypt: decrypt)
        }
    }

    /// Which files an upload would hold, without decrypting anything (`bytes` empty): a dry run
    /// needs no age key (issue 16).
    public static func listing(clanDirectory: String) -> SecretsProvider {
        provider(clanDirectory: clanDirectory, environment: [:], decrypt: false)
    }

    static func collect(clanDirectory dir: String, machine m: String, catalog: () async throws -> GeneratorCatalog?,
                        environment: [String: String], uploadDirectory: String, decrypt: Bool = true) async throws -> [UploadSecret] {
        let fm = FileManager.default
        let keyFile = dir + "/sops/secrets/\(m)-age.key/secret"
        // clan: "skip uploading the secret, not managed by us" — activation files are skipped too.
        guard fm.fileExists(atPath: keyFile) else { return [] }
        var wanted: [(secretFile: String, remote: String)] = [(keyFile, uploadDirectory + "/key.txt")]
        let defs = try await catalog()
        for g in (defs?.generators(for: m) ?? []) + (defs?.flakeLevelGenerators ?? []) {
            let rel = g.id.relDir
            for f in g.files where f.secret && f.neededFor == .activation && (f.deployTo.map { $0.contains(m) } ?? true) {
                let path = dir + "/vars/\(rel)/\(f.name)/secret"
                guard fm.fileExists(atPath: path) else { continue }  // clan: only files that exist
                wanted.append((path, uploadDirectory + "/activation/\(rel)/\(f.name)"))
            }
        }
        if !decrypt { return wanted.map { UploadSecret(remotePath: $0.remote, mode: 0o400, bytes: []) } }
        let backend = NativeVarsSecrets(identities: try AdminKeys.load(environment: environment))
        return try wanted.map { w in
            guard let data = fm.contents(atPath: w.secretFile) else {
                throw SecretUploadPlan.PlanError(message: "\(w.secretFile): cannot read file")
            }
            do {
                return UploadSecret(remotePath: w.remote, mode: 0o400, bytes: try backend.decrypt(String(decoding: data, as: UTF8.self)))
            } catch {
                throw SecretUploadPlan.PlanError(message: "\(w.secretFile): cannot decrypt: \(error)")
            }
        }
    }
}

/// The generator definitions, loaded once (a flake's take one nix evaluation) and shared by the
/// machines of a run.
actor CatalogOnce {
    private let repository: VarsRepository
    private var loaded: Task<GeneratorCatalog?, Error>?

    init(given: GeneratorCatalog?, repository: VarsRepository) {
        self.repository = repository
        if let given { loaded = Task { given } }
    }

    func value() async throws -> GeneratorCatalog? {
        if let loaded { return try await loaded.value }
        let repo = repository
        let t = Task { try await repo.loadCatalog() }
        loaded = t
        return try await t.value
    }
}
