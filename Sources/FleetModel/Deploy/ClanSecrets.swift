import Foundation

/// The secrets `clan machines update` uploads for a machine (clan-formats.md §2.8,
/// clan_lib/vars/secret_modules/sops.py `populate_dir`): the machine's age key
/// (`sops/secrets/<m>-age.key`, skipped when absent) as `key.txt`, and every secret var file with
/// `deploy && neededFor == "activation"` as `activation/<rel_dir>/<file>` with its mode. `services` and
/// `users` secrets travel encrypted in the closure and are not uploaded. Decrypted in memory with the
/// admin's age keys (`AdminKeys`: SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, ~/.config/sops/age/keys.txt).
public enum ClanSecrets {
    /// A provider over a clan directory. `catalog` gives the generator definitions (nil: the
    /// directory's `generators.json` if any; without definitions only the machine key is uploaded).
    public static func provider(clanDirectory: String, catalog: GeneratorCatalog? = nil,
                                environment: [String: String] = ProcessInfo.processInfo.environment,
                                uploadDirectory: String = SecretUploadPlan.defaultDirectory) -> SecretsProvider {
        let dir = URL(fileURLWithPath: clanDirectory).standardizedFileURL.path
        return { machine in
            try collect(clanDirectory: dir, machine: machine.name, catalog: catalog, environment: environment,
                        uploadDirectory: uploadDirectory)
        }
    }

    /// Which files an upload would hold, without decrypting anything (`bytes` empty): a dry run
    /// needs no age key (issue 16).
    public static func listing(clanDirectory: String, uploadDirectory: String = SecretUploadPlan.defaultDirectory) -> SecretsProvider {
        let dir = URL(fileURLWithPath: clanDirectory).standardizedFileURL.path
        return { machine in
            try collect(clanDirectory: dir, machine: machine.name, catalog: nil, environment: [:], uploadDirectory: uploadDirectory,
                        decrypt: false)
        }
    }

    static func collect(clanDirectory dir: String, machine m: String, catalog given: GeneratorCatalog?,
                        environment: [String: String], uploadDirectory: String, decrypt: Bool = true) throws -> [UploadSecret] {
        let fm = FileManager.default
        let catalog = try given ?? VarsRepository(clanDirectory: dir).loadDirectoryCatalog()
        var wanted: [(secretFile: String, remote: String, mode: Int)] = []
        let keyDir = dir + "/sops/secrets/\(m)-age.key"
        if fm.fileExists(atPath: keyDir + "/secret") {
            wanted.append((keyDir + "/secret", uploadDirectory + "/key.txt", 0o400))
        }
        for g in catalog?.generators(for: m) ?? [] {
            let rel = g.share ? "shared/\(g.name)" : "per-machine/\(m)/\(g.name)"
            for f in g.files where f.secret && f.deploy && f.neededFor == .activation {
                let path = dir + "/vars/\(rel)/\(f.name)/secret"
                guard fm.fileExists(atPath: path) else { continue }  // clan: only files that exist
                let mode = Int(f.mode, radix: 8) ?? 0o400
                wanted.append((path, uploadDirectory + "/activation/\(rel)/\(f.name)", mode))
            }
        }
        if wanted.isEmpty { return [] }
        if !decrypt { return wanted.map { UploadSecret(remotePath: $0.remote, mode: $0.mode, bytes: []) } }
        let backend = NativeVarsSecrets(identities: try AdminKeys.load(environment: environment))
        return try wanted.map { w in
            guard let data = fm.contents(atPath: w.secretFile) else {
                throw SecretUploadPlan.PlanError(message: "\(w.secretFile): cannot read file")
            }
            do {
                return UploadSecret(remotePath: w.remote, mode: w.mode, bytes: try backend.decrypt(String(decoding: data, as: UTF8.self)))
            } catch {
                throw SecretUploadPlan.PlanError(message: "\(w.secretFile): cannot decrypt: \(error)")
            }
        }
    }
}
