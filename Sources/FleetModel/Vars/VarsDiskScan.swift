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
    public internal(set) var unknownKeys: [SopsKeyRef]

    /// `inventoryMachines` nil means "unknown inventory": nothing is called orphaned. Reads every
    /// file; `VarsStatusIndex.scan` gives the same from its index.
    public static func scan(clanDirectory dir: String, inventoryMachines: Set<String>?) -> VarsDiskScan {
        scan(reader: VarsFactReader(root: dir), inventoryMachines: inventoryMachines)
    }

    /// The scan through `reader` (paths relative to the clan directory; unchanged files answered
    /// from its index), on this thread.
    static func scan(reader: VarsFactReader, inventoryMachines: Set<String>?) -> VarsDiskScan {
        let scanner = Scanner(reader: reader, inventoryMachines: inventoryMachines)
        var parts = [scanner.scanMachines(scanner.machines[...], reader: reader)]
        return scanner.finish(reader: reader, machineParts: &parts)
    }

    /// The files of each generator directory that a status of the same run reports (their entries
    /// would say nothing new): given to a scan, it lists those directories (for files nobody
    /// declares) but reads nothing of the covered files, nor the directory's `.validation-hash`.
    /// Per-machine directories of machines outside the inventory are never covered, so their
    /// files stay orphan entries.
    public struct Covered: Sendable {
        let files: @Sendable (GeneratorID) -> [VarFileDefinition]?

        /// The declared files of every generator in `catalog` (its machines' statuses and the
        /// flake-level ones report them).
        public init(catalog: GeneratorCatalog) {
            self.files = { id in catalog.generators[id]?.definition.files }
        }
    }

    /// What scanning some generator directories found: a part of a scan, merged in walk order.
    struct Part: Sendable {
        var entries: [Entry] = []
        /// `.validation-hash` per generator directory.
        var hashes: [String: String] = [:]
        var unknown = Set<SopsKeyRef>()
    }

    /// The scan in steps, so that `vars/per-machine`'s machines can be scanned in parts over threads
    /// (`VarsStatusIndex.scan`): the key index and
    /// the machine list first (`init`), then `scanMachines` for contiguous slices of `machines`,
    /// each on a reader of its own, then `finish` (shared, per-export, `sops/secrets`) with the parts
    /// in order — the same entries in the same order as one walk.
    struct Scanner: Sendable {
        let keys: SopsKeyIndex
        let inventoryMachines: Set<String>?
        let covered: Covered?
        /// The directories of `vars/per-machine`, in listing order.
        let machines: [String]

        static let perMachine = "vars/per-machine"

        /// `keys`: the key index when a status of the same run read it (else read here).
        init(reader: VarsFactReader, inventoryMachines: Set<String>?, covered: Covered? = nil, keys: SopsKeyIndex? = nil) {
            self.keys = keys ?? SopsKeyIndex(reader: reader)
            self.inventoryMachines = inventoryMachines
            self.covered = covered
            machines = Self.list(Self.perMachine, reader).filter { reader.isDirectory(Self.perMachine + "/" + $0) }
        }

        private static func list(_ p: String, _ reader: VarsFactReader) -> [String] { reader.names(p).filter { !$0.hasPrefix(".") } }

        /// Every generator directory of `machines` (a slice of `self.machines`).
        func scanMachines(_ machines: ArraySlice<String>, reader: VarsFactReader) -> Part {
            var part = Part()
            for m in machines {
                let dir = Self.perMachine + "/" + m
                let inInventory = inventoryMachines?.contains(m) ?? true
                for g in Self.list(dir, reader) {
                    visitGenerator(machine: m, gen: g, genDir: dir + "/" + g, coverable: inInventory, reader: reader, into: &part)
                }
            }
            return part
        }

        /// The rest of the walk on `reader`, and the scan of `machineParts` (in `machines`' order) and it.
        /// The parts are emptied as they are merged (10k × 10: ~200k entries; not held twice).
        func finish(reader: VarsFactReader, machineParts: inout [Part]) -> VarsDiskScan {
            var rest = Part()
            let shared = "vars/shared"
            for g in Self.list(shared, reader) {
                visitGenerator(machine: nil, gen: g, genDir: shared + "/" + g, reader: reader, into: &rest)
            }
            // Flake-level generators: `per-export/<key>/<gen>` (an export key holds no `/` in clan's own
            // `service:instance:role:machine` keys).
            let perExport = "vars/per-export"
            for k in Self.list(perExport, reader) where reader.isDirectory(perExport + "/" + k) {
                for g in Self.list(perExport + "/" + k, reader) {
                    visitGenerator(machine: nil, exportKey: k, gen: g, genDir: perExport + "/" + k + "/" + g, reader: reader, into: &rest)
                }
            }
            var sopsSecrets: [SopsSecret] = []
            let secretsDir = "sops/secrets"
            for name in Self.list(secretsDir, reader) {
                guard let r = recipientsOf(secretsDir + "/" + name + "/secret", reader: reader, unknown: &rest.unknown) else { continue }
                sopsSecrets.append(SopsSecret(name: name, recipients: r.infos, links: SecretLinks.read(secretsDir + "/" + name, reader: reader), error: r.error))
            }
            var entries: [Entry] = []
            entries.reserveCapacity(machineParts.reduce(rest.entries.count) { $0 + $1.entries.count })
            var hashes: [String: String] = [:]
            var unknown = Set<SopsKeyRef>()
            machineParts.append(rest)
            for i in machineParts.indices {
                entries += machineParts[i].entries
                hashes.merge(machineParts[i].hashes) { a, _ in a }
                unknown.formUnion(machineParts[i].unknown)
                machineParts[i] = Part()
            }
            var orphans: [String] = []
            if let inv = inventoryMachines {
                orphans = Set(machines + keys.machines.keys).subtracting(inv).sorted()
            }
            return VarsDiskScan(entries: entries, validationHashes: hashes, sopsSecrets: sopsSecrets, keys: keys,
                                orphanMachines: orphans, unknownKeys: unknown.sorted())
        }

        private func recipientsOf(_ secret: String, reader: VarsFactReader, unknown: inout Set<SopsKeyRef>)
            -> (infos: [RecipientInfo], current: Set<SopsKeyRef>, error: String?)? {
            switch reader.secretRecipients(secret) {
            case nil: return nil
            case .failure(let e)?: return ([], [], "\(e)")
            case .success(let sorted)?:
                let infos = sorted.map { RecipientInfo(key: $0, owners: keys.owners(of: $0)) }
                for i in infos where i.owners.isEmpty { unknown.insert(i.key) }
                return (infos, Set(sorted), nil)
            }
        }

        /// An entry of a generator folder (`per-machine/<m>`, `shared`, `per-export/<key>`). A covered
        /// one (`coverable`: not a machine outside the inventory) gets only the files its definition
        /// does not declare (a file dropped from the definition, left on disk); its listing is empty
        /// when it is absent or not a directory (the status reports its files missing). Any other
        /// directory is walked whole.
        private func visitGenerator(machine: String?, exportKey: String? = nil, gen: String, genDir: String, coverable: Bool = true,
                                    reader: VarsFactReader, into part: inout Part) {
            let id = GeneratorID(name: gen, machine: machine, exportKey: exportKey)
            if coverable, let declared = covered?.files(id) {
                for file in Self.list(genDir, reader) where !declared.contains(where: { $0.name == file }) {
                    scanFile(machine: machine, exportKey: exportKey, gen: gen, file: file, genDir: genDir, reader: reader, into: &part)
                }
            } else if reader.isDirectory(genDir) {
                scanGenerator(machine: machine, exportKey: exportKey, gen: gen, genDir: genDir, reader: reader, into: &part)
            }
        }

        private func scanGenerator(machine: String?, exportKey: String? = nil, gen: String, genDir: String,
                                   reader: VarsFactReader, into part: inout Part) {
            let rel = GeneratorID(name: gen, machine: machine, exportKey: exportKey).relDir
            if let h = reader.validationHash(genDir + "/.validation-hash") { part.hashes[rel] = h }
            for file in Self.list(genDir, reader) {
                scanFile(machine: machine, exportKey: exportKey, gen: gen, file: file, genDir: genDir, reader: reader, into: &part)
            }
        }

        private func scanFile(machine: String?, exportKey: String?, gen: String, file: String, genDir: String,
                              reader: VarsFactReader, into part: inout Part) {
            let fdir = genDir + "/" + file
            guard reader.isDirectory(fdir) else { return }
            let links = SecretLinks.read(fdir, reader: reader)
            let orphan = machine.map { m in inventoryMachines.map { !$0.contains(m) } ?? false } ?? false
            if let r = recipientsOf(fdir + "/secret", reader: reader, unknown: &part.unknown) {
                part.entries.append(Entry(machine: machine, exportKey: exportKey, generator: gen, file: file, kind: .secret, value: nil,
                                          recipients: r.infos, links: links, orphan: orphan,
                                          drift: r.error == nil && r.current != links.keys, error: r.error))
            } else if let v = reader.contents(fdir + "/value") {
                part.entries.append(Entry(machine: machine, exportKey: exportKey, generator: gen, file: file, kind: .public, value: v,
                                          recipients: [], links: links, orphan: orphan, drift: false, error: nil))
            } else {
                part.entries.append(Entry(machine: machine, exportKey: exportKey, generator: gen, file: file, kind: .empty, value: nil,
                                          recipients: [], links: links, orphan: orphan, drift: false, error: nil))
            }
        }
    }
}
