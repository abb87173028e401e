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
///
/// The dashboard opens the file first (`CachedFleetFile`: the head checked, nothing decoded), draws
/// its first frame from the first screen's machine records alone (`ResolvedFleet.preview`), then
/// decodes every record into this (`init(_:)`).
public final class CachedFleet: Sendable {
    public let inventory: Inventory
    let file: CachedFleetFile

    /// The body checksum of the file (what a stored rendering of this fleet pairs with).
    public var checksum: UInt64 { file.checksum }
    /// Whether addresses (and each machine's roles) were stored with the inventory.
    public var hasAddresses: Bool { file.addressesAt != nil }
    var hasRoles: Bool { file.addressesAt != nil }

    convenience init?(file: MappedFile, source: String, identity: [FileStamp?]) {
        guard let opened = CachedFleetFile(file: file, source: source, identity: identity) else { return nil }
        self.init(opened)
    }

    /// Decodes every machine record of an opened file and takes the rest, decoded on another core
    /// meanwhile; nil if anything is damaged.
    init?(_ opened: CachedFleetFile) {
        file = opened
        var strings = opened.stringReader(memo: true)
        guard let (lists, tags) = opened.decodeListsAndTags(&strings) else { return nil }
        let machineCount = opened.machineCount
        var keys: [String] = []
        var values: [Machine] = []
        keys.reserveCapacity(machineCount)
        values.reserveCapacity(machineCount)
        for i in 0..<machineCount {
            guard let m = opened.machine(i, &strings, lists: lists), keys.last.map({ $0 < m.name }) ?? true else { return nil }
            keys.append(m.name)
            values.append(m)
        }
        guard var inv = opened.rest() else { return nil }
        inv.machines = OrderedDictionary(uncheckedUniqueKeys: keys, values: values)   // strictly increasing: unique
        inv.tags = tags
        inv.clanDirectory = opened.source
        inventory = inv
    }

    /// From this size on, the rest is decoded on another thread (below it, a thread costs more).
    static let backgroundRestBytes = 64 << 10

    /// Whether the cache file holds addresses for `source` and every file they came from is
    /// unchanged — without decoding the inventory (for a stored rendering, `ResolvedFleetCache`).
    static func addressesHold(body: UnsafeRawBufferPointer, source: String, identity: [FileStamp?]) -> Bool {
        var c = BinaryCursor(body)
        guard let head = CachedFleetFile.Head(&c, source: source, identity: identity), head.readsAt > 0 else { return false }
        return CachedFleetFile.validate(head.strings, root: source, readsAt: head.readsAt, throughRow: Int(UInt32.max))
    }

    // MARK: addresses

    /// Targets and overlay IPs of the first `rows` machines (nil `covered` when that is all of
    /// them… never: the zerotier networks need `all()`), if their files are unchanged.
    public func firstRows(_ rows: Int) -> FleetAddresses? {
        file.firstRows(rows, names: inventory.machines.keys)
    }

    /// Every address and the zerotier networks, if every file they came from is unchanged.
    public func all() -> FleetAddresses? {
        let names = inventory.machines.keys
        guard file.addressesAt != nil, file.validate(throughRow: names.count) else { return nil }
        var strings = file.stringReader(memo: false)
        var out = FleetAddresses()
        out.targets.reserveCapacity(names.count)
        for i in 0..<names.count { guard file.decodeRow(i, name: names[i], &strings, into: &out) else { return nil } }
        guard let z = file.decodeZerotier(&strings) else { return nil }
        out.zerotier = z
        return out
    }

    /// Row `row`'s roles as stored (from `ResolvedFleet.rolesHeld`); nil if the file holds none.
    func roles(ofRow row: Int) -> [(role: String, holding: RoleHolding)]? { file.roles(ofRow: row) }
}

/// A resolved-fleet cache file whose head checked out (source, identity, version, checksum), with
/// where its sections start, and the rest (meta, instances) being decoded on another core. Machine
/// records and address rows are fixed-size records read where they are, and string lists are read
/// by number, so a first screen's rows are read without touching the others
/// (`ResolvedFleet.preview`); the whole inventory is decoded by `CachedFleet.init(_:)`.
final class CachedFleetFile: Sendable {
    let source: String
    private let mapped: MappedFile
    private let body: UnsafeRawBufferPointerBox
    private let stringsAt: Int, stringCount: Int, blobAt: Int, blobLength: Int
    /// Where each string list (machine tags, roles, the tags' members) starts: read one at a time
    /// (`list`), or all of them by the whole inventory's decode, which keeps them (`decodedLists`).
    /// The tags' member lists are most of it (~52k names at 10k machines); a first screen needs none.
    private let listOffsets: [Int]
    private let decodedLists = Mutex<[[String]]?>(nil)
    private let tagsAt: Int, tagCount: Int
    let machineCount: Int
    private let machinesAt: Int
    /// Where the address section starts (nil: stored without addresses).
    let addressesAt: Int?
    private let readsAt: Int, readCount: Int, zerotierAt: Int
    /// Meta, instances and unknown fields as compact JSON (`InventoryEncoder`, meta first), and
    /// its decode (without machines, tags and the directory), started by `startRest`.
    private let restID: UInt32
    private let restDecode = Mutex<Background<Inventory>?>(nil)

    /// The body checksum of the file (what a stored rendering of this fleet pairs with).
    var checksum: UInt64 { ResolvedFleetCache.checksum(of: mapped.bytes) }

    /// `deferRest`: the rest is decoded once `startRest` or `rest` asks (a first frame from the
    /// first rows needs only its meta, `meta()`); otherwise its decode starts now.
    init?(file: MappedFile, source: String, identity: [FileStamp?], deferRest: Bool = false) {
        guard let body = BinaryCacheFile.body(file.bytes, magic: FleetCacheFile.magic, version: FleetCacheFile.version) else { return nil }
        self.source = source
        mapped = file
        self.body = UnsafeRawBufferPointerBox(body)
        var c = BinaryCursor(body)
        guard let head = Head(&c, source: source, identity: identity) else { return nil }
        stringsAt = head.strings.stringsAt
        stringCount = head.strings.count
        blobAt = head.strings.blobAt
        blobLength = head.strings.blobLength
        let strings = StringReader(body: body, stringsAt: stringsAt, count: stringCount, blobAt: blobAt, blobLength: blobLength, memo: false)
        guard let restID = c.u32(), strings.span(restID) != nil else { return nil }
        self.restID = restID
        guard let listCount = c.u32(), Int(listCount) <= c.remaining / 4 else { return nil }
        var offsets: [Int] = []
        offsets.reserveCapacity(Int(listCount))
        for _ in 0..<listCount {
            offsets.append(c.at)
            guard let k = c.u32(), Int(k) <= c.remaining / 4, c.seek(c.at + Int(k) * 4) else { return nil }
        }
        listOffsets = offsets
        guard let tagCount = c.u32(), Int(tagCount) <= c.remaining / 8 else { return nil }
        tagsAt = c.at
        self.tagCount = Int(tagCount)
        guard c.seek(c.at + Int(tagCount) * 8), let machineCount = c.u32(), Int(machineCount) <= c.remaining / FleetCacheFile.machineSize else { return nil }
        self.machineCount = Int(machineCount)
        machinesAt = c.at
        guard c.seek(c.at + Int(machineCount) * FleetCacheFile.machineSize) else { return nil }

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
        if !deferRest { startRest() }
    }

    /// Starts decoding the rest (instances with their settings: hundreds of kB at 10k machines) on
    /// another core, where the machines are decoded on this one; once.
    func startRest() {
        restDecode.withLock { started in
            guard started == nil else { return }
            var strings = stringReader(memo: false)
            let text = strings.string(restID)
            started = Background(run: (text?.utf8.count ?? 0) >= CachedFleet.backgroundRestBytes) {
                text.flatMap { try? InventoryDecoder(file: "fleet cache").decode(bytes: Array($0.utf8)) }
            }
        }
    }

    /// The rest of the inventory (waits for its decode); nil if it did not decode.
    func rest() -> Inventory? {
        startRest()
        return restDecode.withLock { $0 }?.value()
    }

    /// The meta alone, decoded from the start of the rest (which `InventoryEncoder` writes first)
    /// without the instances after it: an inventory with only meta and unknown fields; nil if the
    /// rest does not start with it.
    func meta() -> Inventory? {
        guard let span = stringReader(memo: false).span(restID) else { return nil }
        let open = Array("{\"meta\":{".utf8)
        guard span.count > open.count, span.starts(with: open) else { return nil }
        // The end of the meta object: braces outside strings, escapes skipped.
        var depth = 0, inString = false, escaped = false, end: Int?
        for i in (open.count - 1)..<span.count {
            let b = span[i]
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            if b == UInt8(ascii: "\"") { inString = true } else if b == UInt8(ascii: "{") { depth += 1 } else if b == UInt8(ascii: "}") {
                depth -= 1
                if depth == 0 { end = i; break }
            }
        }
        guard let end else { return nil }
        return try? InventoryDecoder(file: "fleet cache").decode(bytes: Array(span[..<(end + 1)]) + [UInt8(ascii: "}")])
    }

    /// A reader of the string table; `memo`: each string made once (a name repeated in 10k
    /// machines is one `String`), else every read makes its own.
    func stringReader(memo: Bool) -> StringReader {
        StringReader(body: body.raw, stringsAt: stringsAt, count: stringCount, blobAt: blobAt, blobLength: blobLength, memo: memo)
    }

    /// String list `id`, read now; nil if damaged.
    private func readList(_ id: Int, _ strings: inout StringReader) -> [String]? {
        guard id >= 0, id < listOffsets.count else { return nil }
        var c = BinaryCursor(body.raw, at: listOffsets[id])
        guard let k = c.u32() else { return nil }
        var l: [String] = []
        l.reserveCapacity(Int(k))
        for _ in 0..<k { guard let s = c.u32().flatMap({ strings.string($0) }) else { return nil }; l.append(s) }
        return l
    }

    /// Every string list and the tags (for the whole inventory, `CachedFleet.init(_:)`); the lists
    /// are kept for `roles(ofRow:)`. Nil if damaged.
    func decodeListsAndTags(_ strings: inout StringReader) -> (lists: [[String]], tags: OrderedDictionary<String, [String]>)? {
        var lists: [[String]] = []
        lists.reserveCapacity(listOffsets.count)
        for i in listOffsets.indices {
            guard let l = readList(i, &strings) else { return nil }
            lists.append(l)
        }
        var c = BinaryCursor(body.raw, at: tagsAt)
        var tags = OrderedDictionary<String, [String]>()
        tags.reserveCapacity(tagCount)
        for _ in 0..<tagCount {
            guard let name = c.u32().flatMap({ strings.string($0) }), let id = c.u32().map(Int.init), id < lists.count,
                  tags.updateValue(lists[id], forKey: name) == nil else { return nil }
        }
        decodedLists.withLock { $0 = lists }
        return (lists, tags)
    }

    /// Machine record `i` (the records are sorted by name), its tag list from `lists` (every list,
    /// decoded) or read now; nil if damaged.
    func machine(_ i: Int, _ strings: inout StringReader, lists: [[String]]? = nil) -> Machine? {
        guard i >= 0, i < machineCount else { return nil }
        var c = BinaryCursor(body.raw, at: machinesAt + i * FleetCacheFile.machineSize)
        func list(_ i: UInt32?) -> [String]? {
            guard let i = i.map(Int.init) else { return nil }
            guard let lists else { return readList(i, &strings) }
            return i < lists.count ? lists[i] : nil
        }
        guard let name = c.u32().flatMap({ strings.string($0) }),
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
        return m
    }

    /// The start of a body: source, identity, where the reads are, the string table.
    struct Head {
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

    /// Targets and overlay IPs of the first `rows` machines (`names`: the machines' names in record
    /// order, at least `rows` of them), if their files are unchanged.
    func firstRows<Names: RandomAccessCollection<String>>(_ rows: Int, names: Names) -> FleetAddresses? where Names.Index == Int {
        let n = min(rows, machineCount, names.count)
        guard addressesAt != nil, validate(throughRow: n) else { return nil }
        var strings = stringReader(memo: false)
        var out = FleetAddresses()
        out.covered = Set(names.prefix(n))
        for i in 0..<n { guard decodeRow(i, name: names[names.startIndex + i], &strings, into: &out) else { return nil } }
        return out
    }

    /// Row `row`'s roles as stored (from `ResolvedFleet.rolesHeld`); nil if the file holds none.
    func roles(ofRow row: Int) -> [(role: String, holding: RoleHolding)]? {
        guard let at = addressesAt, row >= 0, row < machineCount else { return nil }
        var c = BinaryCursor(body.raw, at: at + row * FleetCacheFile.rowSize + FleetCacheFile.rowRolesOffset)
        guard let id = c.u32().map(Int.init) else { return nil }
        let held: [String]
        if let lists = decodedLists.withLock({ $0 }) {
            guard id < lists.count else { return nil }
            held = lists[id]
        } else {
            var strings = stringReader(memo: false)
            guard let l = readList(id, &strings) else { return nil }
            held = l
        }
        var out: [(role: String, holding: RoleHolding)] = []
        for s in held {
            guard let h = s.utf8.first.flatMap({ RoleHolding(rawValue: $0 &- 0x30) }) else { return nil }
            out.append((String(s.dropFirst()), h))
        }
        return out
    }

    /// Stats every recorded file owned by the fleet or by rows `0..<rows` (they come first) and
    /// compares its stamp; a file recorded absent must still be absent. Paths go to `fstatat`
    /// relative to the clan directory straight from the mapping (no `String` per file).
    func validate(throughRow rows: Int) -> Bool {
        Self.validate(stringReader(memo: false), root: source, readsAt: readsAt - 4, throughRow: rows)
    }

    static func validate(_ strings: StringReader, root: String, readsAt: Int, throughRow rows: Int) -> Bool {
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

    /// Row `i`'s target and overlay IP into `out` (under `name`, the machine of record `i`).
    func decodeRow(_ i: Int, name: String, _ strings: inout StringReader, into out: inout FleetAddresses) -> Bool {
        guard let at = addressesAt else { return false }
        var c = BinaryCursor(body.raw, at: at + i * FleetCacheFile.rowSize)
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

    func decodeZerotier(_ strings: inout StringReader) -> [ZerotierNetwork]? {
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
