#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Collections
import Dispatch
import Synchronization

/// A resolved-fleet cache file opened for one start (`ResolvedFleetCache.load`): the inventory,
/// decoded at once (it is what every screen shows), and the addresses, decoded and checked against
/// the `vars/` files on demand — the first screen's rows before the first frame, the rest after it.
/// Addresses whose files changed (any stamp differs, a file appeared or vanished) answer nil: the
/// caller reads `vars/` instead. The mapping stays open while this object lives.
public final class CachedFleet: Sendable {
    public let inventory: Inventory
    private let file: MappedFile
    private let body: UnsafeRawBufferPointerBox
    private let stringsAt: Int, stringCount: Int, blobAt: Int, blobLength: Int
    /// Where the address section starts (nil: stored without addresses).
    private let addressesAt: Int?
    private let readsAt: Int, readCount: Int, zerotierAt: Int

    /// The body checksum of the file (what a stored rendering of this fleet pairs with).
    public var checksum: UInt64 { ResolvedFleetCache.checksum(of: file.bytes) }
    /// Whether addresses (and each machine's roles) were stored with the inventory.
    public var hasAddresses: Bool { addressesAt != nil }
    var hasRoles: Bool { addressesAt != nil }
    /// The string lists (tags, roles) by index.
    private let lists: [[String]]

    init?(file: MappedFile, source: String, identity: [FileStamp?]) {
        guard let body = BinaryCacheFile.body(file.bytes, magic: FleetCacheFile.magic, version: FleetCacheFile.version) else { return nil }
        self.file = file
        self.body = UnsafeRawBufferPointerBox(body)
        var c = BinaryCursor(body)
        guard let head = Head(&c, source: source, identity: identity) else { return nil }
        stringsAt = head.strings.stringsAt
        stringCount = head.strings.count
        blobAt = head.strings.blobAt
        blobLength = head.strings.blobLength
        var strings = StringReader(body: body, stringsAt: stringsAt, count: stringCount, blobAt: blobAt, blobLength: blobLength)
        // The rest (instances with their settings: hundreds of kB at 10k machines) is decoded on
        // another core while this one decodes the machines; a first frame waits for both.
        guard let restText = c.u32().flatMap({ strings.string($0) }) else { return nil }
        let rest = Background(run: restText.utf8.count >= Self.backgroundRestBytes) {
            try? InventoryDecoder(file: "fleet cache").decode(bytes: Array(restText.utf8))
        }
        guard let listCount = c.u32(), Int(listCount) <= c.remaining / 4 else { return nil }
        var lists: [[String]] = []
        lists.reserveCapacity(Int(listCount))
        for _ in 0..<listCount {
            guard let k = c.u32(), Int(k) <= c.remaining / 4 else { return nil }
            var l: [String] = []
            l.reserveCapacity(Int(k))
            for _ in 0..<k { guard let s = c.u32().flatMap({ strings.string($0) }) else { return nil }; l.append(s) }
            lists.append(l)
        }
        self.lists = lists
        func list(_ i: UInt32?) -> [String]? { i.flatMap { Int($0) < lists.count ? lists[Int($0)] : nil } }
        guard let tagCount = c.u32(), Int(tagCount) <= c.remaining / 8 else { return nil }
        var tags = OrderedDictionary<String, [String]>()
        tags.reserveCapacity(Int(tagCount))
        for _ in 0..<tagCount {
            guard let name = c.u32().flatMap({ strings.string($0) }), let l = list(c.u32()), tags.updateValue(l, forKey: name) == nil else { return nil }
        }
        guard let machineCount = c.u32(), Int(machineCount) <= c.remaining / FleetCacheFile.machineSize else { return nil }
        var keys: [String] = []
        var values: [Machine] = []
        keys.reserveCapacity(Int(machineCount))
        values.reserveCapacity(Int(machineCount))
        for _ in 0..<machineCount {
            guard let name = c.u32().flatMap({ strings.string($0) }), keys.last.map({ $0 < name }) ?? true,
                  let cls = c.u8(), cls <= 1, let fwd = c.u8(), fwd <= 2, let hasInstalled = c.u8(), hasInstalled <= 1, c.u8() != nil,
                  let system = c.u32(), let tagList = list(c.u32()), let desc = c.u32(), let icon = c.u32(),
                  let target = c.u32(), let build = c.u32(), let extra = c.u32(), let installed = c.i64() else { return nil }
            var m = Machine(name: name, machineClass: cls == 1 ? .darwin : .nixos, tags: tagList)
            // An absent optional is `none`; any other index must resolve.
            func opt(_ i: UInt32) -> String?? { i == FleetCacheFile.none ? .some(nil) : strings.string(i).map { .some($0) } }
            guard let sys = opt(system), let d = opt(desc), let ic = opt(icon), let th = opt(target), let bh = opt(build),
                  let ex = opt(extra) else { return nil }
            m.system = sys; m.description = d; m.icon = ic
            m.deploy = Machine.Deploy(targetHost: th, buildHost: bh, forwardAgent: fwd == 0 ? nil : fwd == 2)
            if hasInstalled == 1 { guard let t = Int(exactly: installed) else { return nil }; m.installedAt = t }
            if let ex {
                guard let v = try? JSONParser.parse(ex), let o = v.objectValue else { return nil }
                m.extra = o
            }
            keys.append(name)
            values.append(m)
        }
        guard var inv = rest.value() else { return nil }
        inv.machines = OrderedDictionary(uncheckedUniqueKeys: keys, values: values)   // strictly increasing: unique
        inv.tags = tags
        inv.clanDirectory = source
        inventory = inv

        guard let hasAddresses = c.u8(), hasAddresses <= 1 else { return nil }
        if hasAddresses == 1 {
            addressesAt = c.at
            guard c.seek(c.at + Int(machineCount) * FleetCacheFile.rowSize), c.at == head.readsAt, let reads = c.u32(),
                  Int(reads) <= c.remaining / FleetCacheFile.readSize else { return nil }
            readCount = Int(reads)
            readsAt = c.at
            _ = c.seek(c.at + readCount * FleetCacheFile.readSize)
            zerotierAt = c.at
        } else {
            guard c.remaining == 0, head.readsAt == 0 else { return nil }
            addressesAt = nil
            readCount = 0; readsAt = 0; zerotierAt = 0
        }
    }

    /// From this size on, the rest is decoded on another thread (below it, a thread costs more).
    static let backgroundRestBytes = 64 << 10

    /// Whether the cache file holds addresses for `source` and every file they came from is
    /// unchanged — without decoding the inventory (for a stored rendering, `ResolvedFleetCache`).
    static func addressesHold(body: UnsafeRawBufferPointer, source: String, identity: [FileStamp?]) -> Bool {
        var c = BinaryCursor(body)
        guard let head = Head(&c, source: source, identity: identity), head.readsAt > 0 else { return false }
        return validate(head.strings, root: source, readsAt: head.readsAt, throughRow: Int(UInt32.max))
    }

    /// The start of a body: source, identity, where the reads are, the string table.
    private struct Head {
        var readsAt: Int
        var strings: StringReader

        init?(_ c: inout BinaryCursor, source: String, identity: [FileStamp?]) {
            guard c.string() == source, c.u8().map(Int.init) == identity.count else { return nil }
            for expected in identity {
                guard let present = c.u8(), let stamp = c.stamp(), (present == 1 ? stamp : nil) == expected else { return nil }
            }
            guard let readsAt = c.u64().flatMap({ Int(exactly: $0) }), readsAt < c.raw.count,
                  let n = c.u32(), Int(n) <= c.remaining / 8 else { return nil }
            self.readsAt = readsAt
            let stringsAt = c.at
            guard c.seek(c.at + Int(n) * 8), let blobLength = c.u32(), Int(blobLength) <= c.remaining else { return nil }
            strings = StringReader(body: c.raw, stringsAt: stringsAt, count: Int(n), blobAt: c.at, blobLength: Int(blobLength), memo: false)
            _ = c.seek(c.at + Int(blobLength))
        }
    }

    // MARK: addresses

    /// Targets and overlay IPs of the first `rows` machines (nil `covered` when that is all of
    /// them… never: the zerotier networks need `all()`), if their files are unchanged.
    public func firstRows(_ rows: Int) -> FleetAddresses? {
        let n = min(rows, inventory.machines.count)
        guard addressesAt != nil, validate(throughRow: n) else { return nil }
        var strings = reader
        var out = FleetAddresses()
        out.covered = Set(inventory.machines.keys.prefix(n))
        for i in 0..<n { guard decodeRow(i, &strings, into: &out) else { return nil } }
        return out
    }

    /// Every address and the zerotier networks, if every file they came from is unchanged.
    public func all() -> FleetAddresses? {
        guard addressesAt != nil, validate(throughRow: inventory.machines.count) else { return nil }
        var strings = reader
        var out = FleetAddresses()
        out.targets.reserveCapacity(inventory.machines.count)
        for i in 0..<inventory.machines.count { guard decodeRow(i, &strings, into: &out) else { return nil } }
        guard let z = decodeZerotier(&strings) else { return nil }
        out.zerotier = z
        return out
    }

    /// Row `row`'s roles as stored (from `ResolvedFleet.rolesHeld`); nil if the file holds none.
    func roles(ofRow row: Int) -> [(role: String, holding: RoleHolding)]? {
        guard let at = addressesAt, row < inventory.machines.count else { return nil }
        var c = BinaryCursor(body.raw, at: at + row * FleetCacheFile.rowSize + 28)
        guard let id = c.u32(), Int(id) < lists.count else { return nil }
        var out: [(role: String, holding: RoleHolding)] = []
        for s in lists[Int(id)] {
            guard let h = s.utf8.first.flatMap({ RoleHolding(rawValue: $0 &- 0x30) }) else { return nil }
            out.append((String(s.dropFirst()), h))
        }
        return out
    }

    /// A reader without memory: each string of the addresses is read once.
    private var reader: StringReader {
        StringReader(body: body.raw, stringsAt: stringsAt, count: stringCount, blobAt: blobAt, blobLength: blobLength, memo: false)
    }

    /// Stats every recorded file owned by the fleet or by rows `0..<rows` (they come first) and
    /// compares its stamp; a file recorded absent must still be absent. Paths go to `fstatat`
    /// relative to the clan directory straight from the mapping (no `String` per file).
    private func validate(throughRow rows: Int) -> Bool {
        Self.validate(reader, root: inventory.clanDirectory ?? "/nonexistent", readsAt: readsAt - 4, throughRow: rows)
    }

    private static func validate(_ strings: StringReader, root: String, readsAt: Int, throughRow rows: Int) -> Bool {
        var c = BinaryCursor(strings.body, at: readsAt)
        guard let readCount = c.u32() else { return false }
        let dirfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirfd >= 0 else { return false }
        defer { close(dirfd) }
        var path = [CChar](repeating: 0, count: 4096)
        for _ in 0..<readCount {
            guard let owner = c.u32() else { return false }
            if Int(owner) > rows { return true }
            guard let id = c.u32(), let span = strings.span(id), span.count > 0, span.count < path.count, span.first != UInt8(ascii: "/"), !span.contains(0),
                  let present = c.u8(), c.seek(c.at + 3), let stamp = c.stamp() else { return false }
            path.withUnsafeMutableBytes { dst in
                dst.copyMemory(from: span)
                dst[span.count] = 0
            }
            var st = stat()
            if fstatat(dirfd, path, &st, 0) != 0 {
                guard present == 0, errno == ENOENT || errno == ENOTDIR else { return false }
            } else {
                guard present == 1, FileStamp(st) == stamp else { return false }
            }
        }
        return true
    }

    private func decodeRow(_ i: Int, _ strings: inout StringReader, into out: inout FleetAddresses) -> Bool {
        guard let at = addressesAt else { return false }
        var c = BinaryCursor(body.raw, at: at + i * FleetCacheFile.rowSize)
        let name = inventory.machines.keys[i]
        guard let kind = c.u8(), c.seek(c.at + 3), let address = c.u32(), let module = c.u32(), let instance = c.u32(),
              let priority = c.i64(), let overlay = c.u32() else { return false }
        if overlay != FleetCacheFile.none { guard let ip = strings.string(overlay) else { return false }; out.overlayIPs[name] = ip }
        guard kind != 0 else { return true }
        guard let a = strings.string(address) else { return false }
        let source: DeployTarget.Source
        switch kind {
        case 1: source = .override
        case 2: source = .targetHost
        case 3:
            guard let m = strings.string(module), let inst = strings.string(instance), let p = Int(exactly: priority) else { return false }
            source = .network(module: m, instance: inst, priority: p)
        case 4: source = .machineConfig
        case 5: source = .domainDefault
        default: return false
        }
        out.targets[name] = DeployTarget(address: a, source: source)
        return true
    }

    private func decodeZerotier(_ strings: inout StringReader) -> [ZerotierNetwork]? {
        var c = BinaryCursor(body.raw, at: zerotierAt)
        func layout() -> ZerotierVarsLayout?? {
            switch c.u8() { case 0: .some(nil); case 1: .shared; case 2: .oldFinal; case 3: .legacy; case 4: .canonical; default: nil }
        }
        func opt() -> String?? {
            guard let i = c.u32() else { return nil }
            return i == FleetCacheFile.none ? .some(nil) : strings.string(i).map { .some($0) }
        }
        func names() -> [String]? {
            guard let n = c.u32(), Int(n) <= c.remaining / 4 else { return nil }
            var out: [String] = []
            out.reserveCapacity(Int(n))
            for _ in 0..<n { guard let s = c.u32().flatMap({ strings.string($0) }) else { return nil }; out.append(s) }
            return out
        }
        guard let count = c.u32(), Int(count) <= c.remaining / 21 else { return nil }
        var nets: [ZerotierNetwork] = []
        for _ in 0..<count {
            guard let inst = c.u32().flatMap({ strings.string($0) }), let nwid = opt(), let nwidLayout = layout(), let controller = opt(),
                  let moons = names(), let peers = names(), let k = c.u32(), Int(k) <= c.remaining / 13 else { return nil }
            var members: [ZerotierMember] = []
            members.reserveCapacity(Int(k))
            for _ in 0..<k {
                guard let m = c.u32().flatMap({ strings.string($0) }), let roles = names(), let ip = opt(), let l = layout() else { return nil }
                members.append(ZerotierMember(machine: m, roles: roles, ip: ip, layout: l))
            }
            nets.append(ZerotierNetwork(instance: inst, networkID: nwid, networkIDLayout: nwidLayout, controller: controller,
                                        moons: moons, peers: peers, members: members))
        }
        return c.remaining == 0 ? nets : nil
    }
}

/// Strings of the table, made on first use and remembered (a name repeated in 10k tag lists is one
/// `String`).
struct StringReader {
    let body: UnsafeRawBufferPointer
    let stringsAt: Int, count: Int, blobAt: Int, blobLength: Int
    private var made: [String?]

    init(body: UnsafeRawBufferPointer, stringsAt: Int, count: Int, blobAt: Int, blobLength: Int, memo: Bool = true) {
        self.body = body
        self.stringsAt = stringsAt
        self.count = count
        self.blobAt = blobAt
        self.blobLength = blobLength
        made = memo ? Array(repeating: nil, count: count) : []
    }

    /// String `i`'s bytes in the mapping, bounds-checked.
    func span(_ i: UInt32) -> UnsafeRawBufferPointer? {
        let i = Int(i)
        guard i < count else { return nil }
        var c = BinaryCursor(body, at: stringsAt + i * 8)
        guard let off = c.u32(), let len = c.u32(), Int(off) + Int(len) <= blobLength else { return nil }
        let start = blobAt + Int(off)
        return UnsafeRawBufferPointer(rebasing: body[start..<(start + Int(len))])
    }

    mutating func string(_ i: UInt32) -> String? {
        if !made.isEmpty, Int(i) < count, let s = made[Int(i)] { return s }
        guard let bytes = span(i), let s = String(validating: bytes, as: UTF8.self) else { return nil }
        if !made.isEmpty { made[Int(i)] = s }
        return s
    }
}

/// The body of a mapping, kept next to the `MappedFile` that owns it.
public struct UnsafeRawBufferPointerBox: @unchecked Sendable {
    // Sendable: points into a read-only mapping owned by the same object.
    public let raw: UnsafeRawBufferPointer
    init(_ raw: UnsafeRawBufferPointer) { self.raw = raw }
}

/// A value computed on a global queue (or at once, when `run` is false), waited for once.
/// An unawaited one finishes on its own and is dropped.
private final class Background<T: Sendable>: Sendable {
    private let result = Mutex<T?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(run inBackground: Bool, _ make: @escaping @Sendable () -> T?) {
        guard inBackground else { finish(make()); return }
        DispatchQueue.global(qos: .userInitiated).async { self.finish(make()) }
    }

    private func finish(_ v: T?) {
        result.withLock { $0 = v }
        done.signal()
    }

    func value() -> T? {
        done.wait()
        done.signal()
        return result.withLock { $0 }
    }
}
