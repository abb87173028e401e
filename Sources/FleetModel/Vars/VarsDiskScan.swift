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

    /// `inventoryMachines` nil means "unknown inventory": nothing is called orphaned. Reads every
    /// file; `VarsStatusIndex.scan` gives the same from its index.
    public static func scan(clanDirectory dir: String, inventoryMachines: Set<String>?) -> VarsDiskScan {
        scan(reader: VarsFactReader(root: dir), inventoryMachines: inventoryMachines)
    }

    /// The scan through `reader` (paths relative to the clan directory; unchanged files answered
    /// from its index).
    static func scan(reader: VarsFactReader, inventoryMachines: Set<String>?) -> VarsDiskScan {
        let keys = SopsKeyIndex(reader: reader)
        func list(_ p: String) -> [String] { reader.names(p).filter { !$0.hasPrefix(".") } }
        var entries: [Entry] = []
        var hashes: [String: String] = [:]
        var unknown = Set<SopsKeyRef>()

        func recipientsOf(_ secret: String) -> (infos: [RecipientInfo], current: Set<SopsKeyRef>, error: String?)? {
            switch reader.secretRecipients(secret) {
            case nil: return nil
            case .failure(let e)?: return ([], [], "\(e)")
            case .success(let sorted)?:
                let infos = sorted.map { RecipientInfo(key: $0, owners: keys.owners(of: $0)) }
                for i in infos where i.owners.isEmpty { unknown.insert(i.key) }
                return (infos, Set(sorted), nil)
            }
        }
        func scanGenerator(machine: String?, exportKey: String? = nil, gen: String, genDir: String) {
            let rel = GeneratorID(name: gen, machine: machine, exportKey: exportKey).relDir
            if let h = reader.validationHash(genDir + "/.validation-hash") { hashes[rel] = h }
            for file in list(genDir) where reader.isDirectory(genDir + "/" + file) {
                let fdir = genDir + "/" + file
                let links = SecretLinks.read(fdir, reader: reader)
                let orphan = machine.map { m in inventoryMachines.map { !$0.contains(m) } ?? false } ?? false
                if let r = recipientsOf(fdir + "/secret") {
                    entries.append(Entry(machine: machine, exportKey: exportKey, generator: gen, file: file, kind: .secret, value: nil, recipients: r.infos,
                                         links: links, orphan: orphan, drift: r.error == nil && r.current != links.keys, error: r.error))
                } else if let v = reader.contents(fdir + "/value") {
                    entries.append(Entry(machine: machine, exportKey: exportKey, generator: gen, file: file, kind: .public, value: v, recipients: [],
                                         links: links, orphan: orphan, drift: false, error: nil))
                } else {
                    entries.append(Entry(machine: machine, exportKey: exportKey, generator: gen, file: file, kind: .empty, value: nil, recipients: [],
                                         links: links, orphan: orphan, drift: false, error: nil))
                }
            }
        }
        let perMachine = "vars/per-machine"
        var varMachines: [String] = []
        for m in list(perMachine) where reader.isDirectory(perMachine + "/" + m) {
            varMachines.append(m)
            for g in list(perMachine + "/" + m) where reader.isDirectory(perMachine + "/" + m + "/" + g) {
                scanGenerator(machine: m, gen: g, genDir: perMachine + "/" + m + "/" + g)
            }
        }
        let shared = "vars/shared"
        for g in list(shared) where reader.isDirectory(shared + "/" + g) { scanGenerator(machine: nil, gen: g, genDir: shared + "/" + g) }
        // Flake-level generators: `per-export/<key>/<gen>` (an export key holds no `/` in clan's own
        // `service:instance:role:machine` keys).
        let perExport = "vars/per-export"
        for k in list(perExport) where reader.isDirectory(perExport + "/" + k) {
            for g in list(perExport + "/" + k) where reader.isDirectory(perExport + "/" + k + "/" + g) {
                scanGenerator(machine: nil, exportKey: k, gen: g, genDir: perExport + "/" + k + "/" + g)
            }
        }

        var sopsSecrets: [SopsSecret] = []
        let secretsDir = "sops/secrets"
        for name in list(secretsDir) {
            guard let r = recipientsOf(secretsDir + "/" + name + "/secret") else { continue }
            sopsSecrets.append(SopsSecret(name: name, recipients: r.infos, links: SecretLinks.read(secretsDir + "/" + name, reader: reader), error: r.error))
        }
        var orphans: [String] = []
        if let inv = inventoryMachines {
            orphans = Set(varMachines + keys.machines.keys).subtracting(inv).sorted()
        }
        return VarsDiskScan(entries: entries, validationHashes: hashes, sopsSecrets: sopsSecrets, keys: keys,
                            orphanMachines: orphans, unknownKeys: unknown.sorted())
    }
}
