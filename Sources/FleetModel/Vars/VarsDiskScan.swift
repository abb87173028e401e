import Foundation

/// Everything under `vars/` and `sops/` read straight from disk, without generator definitions
/// (no nix, or a flake fleet cannot evaluate) — clan-formats.md §6 item 3.
public struct VarsDiskScan: Sendable {
    public enum Kind: String, Sendable { case `public`, secret, empty }

    public struct Entry: Equatable, Sendable {
        /// nil for shared and flake-level vars.
        public let machine: String?
        /// The export key of a flake-level var (`vars/per-export/<key>/…`).
        public var exportKey: String? = nil
        public let generator: String
        public let file: String
        public let kind: Kind
        /// The raw `value` bytes of a public var.
        public let value: [UInt8]?
        public let recipients: [RecipientInfo]
        public let links: SecretLinks.Links
        /// A per-machine var of a machine that is not in the inventory.
        public let orphan: Bool
        /// Recipients in the file differ from the keys behind the links (clan's "unfixed").
        public let drift: Bool
        public let error: String?

        public var id: String { "\(generator)/\(file)" }
        public var generatorID: GeneratorID { GeneratorID(name: generator, machine: machine, exportKey: exportKey) }
        /// `cinnabar`, `shared` or `export: <key>` (clan's placement text without `machine: `).
        public var placement: String { machine ?? exportKey.map { "export: \($0)" } ?? "shared" }
    }

    /// `sops/secrets/<name>` (machine keys `<m>-age.key` and legacy `clan secrets`).
    public struct SopsSecret: Equatable, Sendable {
        public let name: String
        public let recipients: [RecipientInfo]
        public let links: SecretLinks.Links
        public let error: String?
    }

    public let entries: [Entry]
    /// `.validation-hash` per generator directory (`per-machine/m/g` or `shared/g`).
    public let validationHashes: [String: String]
    public let sopsSecrets: [SopsSecret]
    public let keys: SopsKeyIndex
    /// Machines with `vars/per-machine/<m>` or `sops/machines/<m>` that the inventory does not list.
    public let orphanMachines: [String]
    /// Recipient keys found in secrets that belong to no `sops/users` or `sops/machines` entry.
    public let unknownKeys: [SopsKeyRef]

    /// `inventoryMachines` nil means "unknown inventory": nothing is called orphaned.
    public static func scan(clanDirectory dir: String, inventoryMachines: Set<String>?) -> VarsDiskScan {
        let fm = FileManager.default
        let keys = SopsKeyIndex(clanDirectory: dir)
        let cache = SecretLinks.KeyCache()
        func list(_ p: String) -> [String] {
            ((try? fm.contentsOfDirectory(atPath: p)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        }
        func isDir(_ p: String) -> Bool {
            var d: ObjCBool = false
            return fm.fileExists(atPath: p, isDirectory: &d) && d.boolValue
        }
        var entries: [Entry] = []
        var hashes: [String: String] = [:]
        var unknown = Set<SopsKeyRef>()

        func recipientsOf(_ secretPath: String) -> (Set<SopsKeyRef>, String?) {
            do { return (try SopsFileRecipients.read(path: secretPath), nil) } catch { return ([], "\(error)") }
        }
        func scanGenerator(machine: String?, exportKey: String? = nil, gen: String, genDir: String) {
            let rel = GeneratorID(name: gen, machine: machine, exportKey: exportKey).relDir
            if let h = VarsStatusChecker.readValidationHash(genDir) { hashes[rel] = h }
            for file in list(genDir) where isDir(genDir + "/" + file) {
                let fdir = genDir + "/" + file
                let links = SecretLinks.read(secretDir: fdir, cache: cache)
                let orphan = machine.map { m in inventoryMachines.map { !$0.contains(m) } ?? false } ?? false
                if fm.fileExists(atPath: fdir + "/secret") {
                    let (current, err) = recipientsOf(fdir + "/secret")
                    let infos = current.sorted().map { RecipientInfo(key: $0, owners: keys.owners(of: $0)) }
                    for i in infos where i.owners.isEmpty { unknown.insert(i.key) }
                    entries.append(Entry(machine: machine, exportKey: exportKey, generator: gen, file: file, kind: .secret, value: nil, recipients: infos,
                                         links: links, orphan: orphan, drift: err == nil && current != links.keys, error: err))
                } else if let v = fm.contents(atPath: fdir + "/value") {
                    entries.append(Entry(machine: machine, exportKey: exportKey, generator: gen, file: file, kind: .public, value: Array(v), recipients: [],
                                         links: links, orphan: orphan, drift: false, error: nil))
                } else {
                    entries.append(Entry(machine: machine, exportKey: exportKey, generator: gen, file: file, kind: .empty, value: nil, recipients: [],
                                         links: links, orphan: orphan, drift: false, error: nil))
                }
            }
        }
        let perMachine = dir + "/vars/per-machine"
        var varMachines: [String] = []
        for m in list(perMachine) where isDir(perMachine + "/" + m) {
            varMachines.append(m)
            for g in list(perMachine + "/" + m) where isDir(perMachine + "/" + m + "/" + g) {
                scanGenerator(machine: m, gen: g, genDir: perMachine + "/" + m + "/" + g)
            }
        }
        let shared = dir + "/vars/shared"
        for g in list(shared) where isDir(shared + "/" + g) { scanGenerator(machine: nil, gen: g, genDir: shared + "/" + g) }
        // Flake-level generators: `per-export/<key>/<gen>` (an export key holds no `/` in clan's own
        // `service:instance:role:machine` keys).
        let perExport = dir + "/vars/per-export"
        for k in list(perExport) where isDir(perExport + "/" + k) {
            for g in list(perExport + "/" + k) where isDir(perExport + "/" + k + "/" + g) {
                scanGenerator(machine: nil, exportKey: k, gen: g, genDir: perExport + "/" + k + "/" + g)
            }
        }

        var sopsSecrets: [SopsSecret] = []
        let secretsDir = dir + "/sops/secrets"
        for name in list(secretsDir) where fm.fileExists(atPath: secretsDir + "/" + name + "/secret") {
            let (current, err) = recipientsOf(secretsDir + "/" + name + "/secret")
            let infos = current.sorted().map { RecipientInfo(key: $0, owners: keys.owners(of: $0)) }
            for i in infos where i.owners.isEmpty { unknown.insert(i.key) }
            sopsSecrets.append(SopsSecret(name: name, recipients: infos, links: SecretLinks.read(secretDir: secretsDir + "/" + name, cache: cache), error: err))
        }
        var orphans: [String] = []
        if let inv = inventoryMachines {
            orphans = Set(varMachines + keys.machines.keys).subtracting(inv).sorted()
        }
        return VarsDiskScan(entries: entries, validationHashes: hashes, sopsSecrets: sopsSecrets, keys: keys,
                            orphanMachines: orphans, unknownKeys: unknown.sorted())
    }
}
