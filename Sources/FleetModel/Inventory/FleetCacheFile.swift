#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Collections

/// The on-disk form of `ResolvedFleetCache`: the decoded inventory of a directory source and, when
/// known, every machine's addresses with the stamps of the `vars/` files they were derived from.
/// Binary, little-endian, sealed by `BinaryCacheFile` (magic "FLTFLEET", version, body checksum):
///
///     body      source dir (u32 length + UTF-8) · identity: n u8 · n × (present u8 · stamp) — the
///               source's inventory files and the fleet binary (`ResolvedFleetCache.identity`)
///               · where the reads start (u64 body offset, 0: no addresses; checks need no decoding)
///               strings: n u32 · n × (offset u32, length u32) · blob length u32 · blob
///               rest (string: meta, instances, unknown fields as compact JSON, `InventoryEncoder`)
///               tag lists: n u32 · n × (k u32 · k × string)     — shared by machines and tags
///               tags: n u32 · n × (name string · list u32)
///               machines: n u32 · n × 44-byte record (`machineSize`), sorted by name
///               addresses: present u8 · rows: n × 32-byte record (`rowSize`), machine order
///               · reads: n u32 · n × 56-byte record, sorted by owner row (fleet-wide first)
///               · zerotier networks: n u32 · n × variable record
///
/// Strings are referenced by u32 index (`none` = absent) and made into `String`s only when read;
/// fixed-size records let the first screen's rows be read without touching the others.
enum FleetCacheFile {
    static let magic = Array("FLTFLEET".utf8)
    static let version: UInt32 = 2
    static let none = UInt32.max
    static let machineSize = 44
    static let rowSize = 32
    /// Where a row's roles list (u32) sits in it: after kind u8 · 3 pad · address, module, instance
    /// u32 · priority i64 · overlay IP u32 (`Encoder`'s address rows).
    static let rowRolesOffset = 28
    static let readSize = 56

    // MARK: write

    /// Builds a file in parts (`Parts`: written one after the other, sealed without a copy of the
    /// whole, `ResolvedFleetCache.store`). Repeated strings and lists are stored once; a string is
    /// found again by its bytes (`StringTable`, no `Hasher`), a machine's tag list by its array's
    /// storage (the inventory reader shares one array between the machines with equal lists) and
    /// its roles by their numbers in the resolution.
    struct Encoder {
        private var strings = StringTable()
        /// String lists (tags, roles), each stored once.
        private var lists: [[String]] = []
        private var listIDs: [[String]: UInt32] = [:]
        /// Lists of the encoded inventory by array storage (base address → count, list): valid
        /// while the inventory is, which outlives the encoder's use.
        private var listStorage: [Int: (count: Int, id: UInt32)] = [:]
        /// Role lists by (role number << 2 | holding) of the resolution.
        private var roleLists: [[UInt32]: UInt32] = [:]

        mutating func list(_ l: [String]) -> UInt32 {
            if let i = listIDs[l] { return i }
            let i = UInt32(lists.count)
            lists.append(l)
            listIDs[l] = i
            return i
        }

        /// A list held by the inventory being encoded (alive for the whole encoding).
        private mutating func inventoryList(_ l: [String]) -> UInt32 {
            guard !l.isEmpty, let base = l.withUnsafeBufferPointer({ $0.baseAddress }) else { return list(l) }
            let key = Int(bitPattern: base)
            if let hit = listStorage[key], hit.count == l.count { return hit.id }
            let i = list(l)
            listStorage[key] = (l.count, i)
            return i
        }

        mutating func id(_ s: String?) -> UInt32 {
            guard var s else { return FleetCacheFile.none }
            return s.withUTF8 { strings.id(UnsafeRawBufferPointer($0)) }
        }

        static func layout(_ l: ZerotierVarsLayout?) -> UInt8 {
            switch l { case nil: 0; case .shared: 1; case .oldFinal: 2; case .legacy: 3; case .canonical: 4 }
        }

        /// The file, sealed, in one buffer.
        mutating func encode(_ inv: Inventory, addresses: AddressRecording?, source: String,
                             identity: [FileStamp?]) -> [UInt8] {
            let parts = encodeParts(inv, addresses: addresses, source: source, identity: identity)
            return parts.withPieces { pieces in
                let (header, _) = BinaryCacheFile.header(pieces: pieces, magic: FleetCacheFile.magic, version: FleetCacheFile.version)
                return pieces.reduce(into: header) { $0.append(contentsOf: $1) }
            }
        }

        /// The body in its parts (head and string table, string bytes, lists, the rest).
        mutating func encodeParts(_ inv: Inventory, addresses: AddressRecording?, source: String,
                                  identity: [FileStamp?]) -> Parts {
            let part = encodeInventory(inv)
            return encodeParts(part, inv, addresses: addresses, source: source, identity: identity)
        }

        /// What `encodeInventory` wrote: the rest's string and the tail so far (tags, machines).
        struct InventoryPart {
            var restID: UInt32
            var tail: BinaryWriter
        }

        /// The part of the body that depends on the inventory alone, encoded first — it can be done
        /// while the addresses are still being resolved (`ResolvedFleetCache.loadFleet`); the
        /// other `encodeParts` completes it with the same encoder.
        mutating func encodeInventory(_ inv: Inventory) -> InventoryPart {
            var rest: [UInt8] = []
            var bare = inv
            bare.machines = [:]
            bare.tags = [:]
            InventoryEncoder.encode(bare, into: &rest)
            let restID = rest.withUnsafeBytes { strings.id($0) }

            var tail = BinaryWriter()
            // Machines, their addresses (rowSize), about one read and one zerotier membership each:
            // sized once, not doubled (pages reserved but not written are never touched).
            tail.bytes.reserveCapacity(16 + inv.tags.count * 8
                                       + inv.machines.count * (FleetCacheFile.machineSize + FleetCacheFile.rowSize + FleetCacheFile.readSize + 64))
            tail.u32(UInt32(inv.tags.count))
            for (name, members) in inv.tags { tail.u32(id(name)); tail.u32(inventoryList(members)) }
            tail.u32(UInt32(inv.machines.count))
            for m in inv.machines.values {
                tail.u32(id(m.name))
                tail.u8(m.machineClass == .darwin ? 1 : 0)
                tail.u8(m.deploy.forwardAgent.map { $0 ? 2 : 1 } ?? 0)
                tail.u8(m.installedAt == nil ? 0 : 1)
                tail.u8(0)
                tail.u32(id(m.system)); tail.u32(inventoryList(m.tags)); tail.u32(id(m.description)); tail.u32(id(m.icon))
                tail.u32(id(m.deploy.targetHost)); tail.u32(id(m.deploy.buildHost))
                tail.u32(m.extra.isEmpty ? FleetCacheFile.none : id(JSONWriter.compact.string(.object(m.extra))))
                tail.i64(Int64(m.installedAt ?? 0))
            }
            return InventoryPart(restID: restID, tail: tail)
        }

        /// The body in its parts, from this encoder's `encodeInventory(inv)`.
        mutating func encodeParts(_ part: InventoryPart, _ inv: Inventory, addresses: AddressRecording?, source: String,
                                  identity: [FileStamp?]) -> Parts {
            let restID = part.restID
            var tail = part.tail
            var readsInTail: Int?
            if let a = addresses {
                tail.u8(1)
                readsInTail = encodeAddresses(a, machines: inv.machines, into: &tail)
            } else {
                tail.u8(0)
            }
            // Lists after everything that adds to them, strings last of all (they are referenced above).
            var listBytes = BinaryWriter()
            listBytes.u32(restID)
            listBytes.u32(UInt32(lists.count))
            for l in lists { listBytes.u32(UInt32(l.count)); for s in l { listBytes.u32(id(s)) } }

            var w = BinaryWriter()
            w.string(source)
            w.u8(UInt8(identity.count))
            for s in identity {
                if let s { w.u8(1); w.stamp(s) } else { w.u8(0); w.stamp(FileStamp.unusable) }
            }
            let readsPatch = w.bytes.count
            w.u64(0)
            w.u32(UInt32(strings.count))
            w.bytes.reserveCapacity(w.bytes.count + strings.count * 8 + 4)
            strings.forEachSpan { w.u32($0); w.u32($1) }
            w.u32(UInt32(strings.blob.count))
            if let readsInTail {
                let at = w.bytes.count + strings.blob.count + listBytes.bytes.count + readsInTail
                withUnsafeBytes(of: UInt64(at).littleEndian) {
                    w.bytes.replaceSubrange(readsPatch..<(readsPatch + 8), with: $0)
                }
            }
            return Parts(parts: [w.bytes, strings.blob, listBytes.bytes, tail.bytes])
        }

        /// Returns where in `w` the reads start.
        private mutating func encodeAddresses(_ a: AddressRecording, machines: OrderedDictionary<String, Machine>,
                                              into w: inout BinaryWriter) -> Int {
            // Roles by number when the resolution of these very machines is at hand.
            let resolution = a.fleet.computedResolution.flatMap { r in
                r.inventory.machines.keys.elementsEqual(machines.keys) ? r : nil
            }
            var key: [UInt32] = []
            // Taken once (`a.addresses` is the fleet's, copied out at each use).
            let targets = a.addresses.targets, overlayIPs = a.addresses.overlayIPs
            for (i, name) in machines.keys.enumerated() {
                let t = targets[name]
                var kind: UInt8 = 0, module: String?, instance: String?, priority = 0
                switch t?.source {
                case nil: kind = 0
                case .override: kind = 1
                case .targetHost: kind = 2
                case .network(let m, let i, let p): kind = 3; module = m; instance = i; priority = p
                case .machineConfig: kind = 4
                case .domainDefault: kind = 5
                }
                w.u8(kind); w.u8(0); w.u8(0); w.u8(0)
                w.u32(id(t?.address)); w.u32(id(module)); w.u32(id(instance)); w.i64(Int64(priority))
                w.u32(id(overlayIPs[name]))
                if resolution != nil {
                    // Not `if let`: that bound a copy of the resolution for every machine.
                    key.removeAll(keepingCapacity: true)
                    resolution!.forEachHeldRole(ofRow: i) { role, holding in key.append(UInt32(role) << 2 | UInt32(holding.rawValue)) }
                    if let l = roleLists[key] {
                        w.u32(l)
                    } else {
                        let l = list(key.map { String($0 & 3) + resolution!.roleName(Int($0 >> 2)) })
                        roleLists[key] = l
                        w.u32(l)
                    }
                } else {
                    w.u32(list(a.fleet.rolesHeld(of: name).map { String($0.holding.rawValue) + $0.role }))
                }
            }
            // Fleet-wide reads first, then by row: the first screen's are a prefix.
            // A machine's row from the inventory's own table (no second table of 10k names).
            let owners = a.reads.map { r in r.owner.flatMap { machines.index(forKey: $0).map { UInt32($0) + 1 } } ?? 0 }
            // The reads' numbers sorted, not the reads (each swap copied a path and a stamp); the
            // number breaks ties, which keeps the recorded order within an owner (a stable sort).
            let order = owners.indices.sorted { (owners[$0], $0) < (owners[$1], $1) }
            let readsAt = w.bytes.count
            w.u32(UInt32(order.count))
            for k in order {
                let owner = owners[k], r = a.reads[k]
                w.u32(owner); w.u32(id(r.path)); w.u8(r.stamp == nil ? 0 : 1); w.u8(0); w.u8(0); w.u8(0)
                w.stamp(r.stamp ?? FileStamp.unusable)
            }
            w.u32(UInt32(a.addresses.zerotier.count))
            func names(_ l: [String]) { w.u32(UInt32(l.count)); for s in l { w.u32(id(s)) } }
            for n in a.addresses.zerotier {
                w.u32(id(n.instance)); w.u32(id(n.networkID)); w.u8(Self.layout(n.networkIDLayout)); w.u32(id(n.controller))
                names(n.moons); names(n.peers)
                w.u32(UInt32(n.members.count))
                for m in n.members { w.u32(id(m.machine)); names(m.roles); w.u32(id(m.ip)); w.u8(Self.layout(m.layout)) }
            }
            return readsAt
        }
    }

    /// An encoded body in parts, in file order.
    struct Parts {
        var parts: [[UInt8]]

        func withPieces<T>(_ body: ([UnsafeRawBufferPointer]) -> T) -> T {
            func go(_ i: Int, _ acc: [UnsafeRawBufferPointer]) -> T {
                i == parts.count ? body(acc) : parts[i].withUnsafeBytes { go(i + 1, acc + [$0]) }
            }
            return go(0, [])
        }
    }

    /// The string table: each distinct string once, in order of first use, found again by the hash
    /// of its bytes compared with `memcmp` against the bytes stored (a `ByteSpanTable` over `blob`).
    struct StringTable {
        private(set) var blob: [UInt8] = []
        private var table = ByteSpanTable<Void>(capacity: 512)

        var count: Int { table.count }

        /// Each string's offset and length in `blob`, in order of first use.
        func forEachSpan(_ body: (_ offset: UInt32, _ length: UInt32) -> Void) {
            table.forEachSpan { body(UInt32($0), UInt32($1)) }
        }

        mutating func id(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
            UInt32(table.index(of: bytes, appendingTo: &blob))
        }
    }
}

/// A complete fleet (addresses, roles) and the `vars/` reads its addresses came from
/// (`VarsReadRecorder`).
public struct AddressRecording: Sendable {
    public var fleet: ResolvedFleet
    public var reads: [VarsRead]
    public var addresses: FleetAddresses { fleet.addresses }
    public init(fleet: ResolvedFleet, reads: [VarsRead]) {
        self.fleet = fleet
        self.reads = reads
    }
}
