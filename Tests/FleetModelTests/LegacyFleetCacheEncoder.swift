import Collections
@testable import FleetModel

/// The resolved-fleet cache encoder as it was before perf-list's sixth-session pass (Swift
/// `Dictionary` of `String`s and of `[String]` for every id, roles through `rolesHeld`, the body
/// sealed by copying it): the reference `FleetCacheEncoderTests` compares the new encoder's bytes
/// with. Do not change it.
struct LegacyFleetCacheEncoder {
    private var strings: [String] = []
    private var ids: [String: UInt32] = [:]
    /// String lists (tags, roles), each stored once.
    private var lists: [[String]] = []
    private var listIDs: [[String]: UInt32] = [:]

    mutating func list(_ l: [String]) -> UInt32 {
        if let i = listIDs[l] { return i }
        let i = UInt32(lists.count)
        lists.append(l)
        listIDs[l] = i
        return i
    }

    mutating func id(_ s: String?) -> UInt32 {
        guard let s else { return FleetCacheFile.none }
        if let i = ids[s] { return i }
        let i = UInt32(strings.count)
        strings.append(s)
        ids[s] = i
        return i
    }

    static func layout(_ l: ZerotierVarsLayout?) -> UInt8 {
        switch l { case nil: 0; case .shared: 1; case .oldFinal: 2; case .legacy: 3; case .canonical: 4 }
    }

    mutating func encode(_ inv: Inventory, addresses: AddressRecording?, source: String,
                         identity: [FileStamp?]) -> [UInt8] {
        var rest: [UInt8] = []
        var bare = inv
        bare.machines = [:]
        bare.tags = [:]
        InventoryEncoder.encode(bare, into: &rest)
        let restID = id(String(decoding: rest, as: UTF8.self))

        var tail = BinaryWriter()
        tail.u32(UInt32(inv.tags.count))
        for (name, members) in inv.tags { tail.u32(id(name)); tail.u32(list(members)) }
        tail.u32(UInt32(inv.machines.count))
        for m in inv.machines.values {
            tail.u32(id(m.name))
            tail.u8(m.machineClass == .darwin ? 1 : 0)
            tail.u8(m.deploy.forwardAgent.map { $0 ? 2 : 1 } ?? 0)
            tail.u8(m.installedAt == nil ? 0 : 1)
            tail.u8(0)
            tail.u32(id(m.system)); tail.u32(list(m.tags)); tail.u32(id(m.description)); tail.u32(id(m.icon))
            tail.u32(id(m.deploy.targetHost)); tail.u32(id(m.deploy.buildHost))
            tail.u32(m.extra.isEmpty ? FleetCacheFile.none : id(JSONWriter.compact.string(.object(m.extra))))
            tail.i64(Int64(m.installedAt ?? 0))
        }
        var readsInTail: Int?
        if let a = addresses {
            tail.u8(1)
            readsInTail = encodeAddresses(a, machines: inv.machines, into: &tail)
        } else {
            tail.u8(0)
        }
        // Lists after everything that adds to them, strings last of all (they are referenced above).
        var listBytes = BinaryWriter()
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
        var blob: [UInt8] = []
        w.u32(UInt32(strings.count))
        for s in strings {
            w.u32(UInt32(blob.count)); w.u32(UInt32(s.utf8.count))
            blob.append(contentsOf: s.utf8)
        }
        w.u32(UInt32(blob.count))
        w.bytes.append(contentsOf: blob)
        w.u32(restID)
        w.bytes.append(contentsOf: listBytes.bytes)
        if let readsInTail {
            withUnsafeBytes(of: UInt64(w.bytes.count + readsInTail).littleEndian) {
                w.bytes.replaceSubrange(readsPatch..<(readsPatch + 8), with: $0)
            }
        }
        w.bytes.append(contentsOf: tail.bytes)
        return BinaryCacheFile.seal(w.bytes, magic: FleetCacheFile.magic, version: FleetCacheFile.version)
    }

    /// Returns where in `w` the reads start.
    private mutating func encodeAddresses(_ a: AddressRecording, machines: OrderedDictionary<String, Machine>,
                                          into w: inout BinaryWriter) -> Int {
        var row: [String: UInt32] = [:]
        row.reserveCapacity(machines.count)
        for (i, name) in machines.keys.enumerated() { row[name] = UInt32(i) }
        for name in machines.keys {
            let t = a.addresses.targets[name]
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
            w.u32(id(a.addresses.overlayIPs[name]))
            w.u32(list(a.fleet.rolesHeld(of: name).map { String($0.holding.rawValue) + $0.role }))
        }
        // Fleet-wide reads first, then by row: the first screen's are a prefix.
        let reads = a.reads.map { r in (owner: r.owner.flatMap { row[$0].map { $0 + 1 } } ?? 0, read: r) }
            .sorted { $0.owner < $1.owner }
        let readsAt = w.bytes.count
        w.u32(UInt32(reads.count))
        for (owner, r) in reads {
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
