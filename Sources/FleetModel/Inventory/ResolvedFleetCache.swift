import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The resolved fleet of a directory source, so a second start maps one file instead of parsing a
/// multi-megabyte `inventory.json` and reading thousands of `vars/` files (issue 15). One file per
/// source directory in `$XDG_CACHE_HOME/fleet/` (next to the flake evaluation cache); format in
/// `FleetCacheFile`, reading in `CachedFleet`.
///
/// Never a wrong screen: the inventory part is keyed by the stamps — (device, inode, mode, size,
/// mtime, ctime) — of everything `DirectoryInventoryLoader` reads: `inventory.json`, `systems.json`
/// and the `machines/` directory (whose mtime changes when an entry is added, removed or renamed).
/// Each address is trusted only while every `vars/` file it was derived from has the stamp it had
/// when read, and every file found absent is still absent (`VarsReadRecorder`). Any write changes
/// ctime, which no tool can set back; kernel timestamps advance in ticks of a few ms, so two
/// same-size writes in one tick look alike: as git does for its index ("racy clean"), nothing whose
/// files changed in the last `settleSeconds` is stored. A short, corrupt, foreign or other-version
/// file is ignored and replaced by the next store.
public struct ResolvedFleetCache: Sendable {
    public let directory: String
    /// Files younger than this are not cached (timestamp granularity; see above).
    public var settleSeconds: Double = 2

    public init(directory: String) { self.directory = directory }

    /// The stamps of the source's inventory files (nil: absent), in a fixed order.
    public struct Identity: Sendable, Equatable {
        var stamps: [FileStamp?]
        var newestNs: Int64
    }

    /// The source's three files, then the running `fleet` binary itself: another build may resolve,
    /// encode or print differently, so its cache is not this build's (its age does not count).
    public static func identity(source dir: String) -> Identity? {
        var stamps: [FileStamp?] = []
        var newest: Int64 = 0
        for name in ["inventory.json", "systems.json", "machines"] {
            var st = stat()
            if stat(dir + "/" + name, &st) != 0 {
                guard errno == ENOENT else { return nil }
                stamps.append(nil)
                continue
            }
            let s = FileStamp(st)
            stamps.append(s)
            newest = max(newest, s.newestNs)
        }
        var st = stat()
        guard stat("/proc/self/exe", &st) == 0 else { return nil }
        stamps.append(FileStamp(st))
        return Identity(stamps: stamps, newestNs: newest)
    }

    func file(for dir: String) -> String {
        // Hex by hand: `String(format:)` costs a first start ~0.5 ms of Foundation set-up.
        let digits = Array("0123456789abcdef".utf8)
        let h = String(decoding: SHA256.hash(data: Array(dir.utf8)).prefix(12).flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
        return directory + "/fleet-\(h).bin"
    }

    /// The fleet stored for `dir` if its inventory files are exactly as they were then; nil otherwise.
    public func load(source dir: String) -> CachedFleet? {
        open(source: dir).flatMap { CachedFleet($0) }
    }

    /// The file stored for `dir`, opened (its head checked, nothing decoded but the string lists and
    /// tags), if its inventory files are exactly as they were then; nil otherwise.
    func open(source dir: String, deferRest: Bool = false) -> CachedFleetFile? {
        guard let id = Self.identity(source: dir), let mapped = MappedFile(path: file(for: dir)) else { return nil }
        return CachedFleetFile(file: mapped, source: dir, identity: id.stamps, deferRest: deferRest)
    }

    /// Stores `inv` as read from `dir` (and its addresses, when given and settled), unless the
    /// inventory files changed too recently to be told apart or changed while they were read.
    /// `identity` is what `identity(source:)` returned before the files were read. Returns the
    /// checksum of the file written (what a rendering of this fleet pairs with), nil if none was.
    @discardableResult
    public func store(_ inv: Inventory, addresses: AddressRecording?, source dir: String, identity: Identity) -> UInt64? {
        store(inv, addresses: addresses, source: dir, identity: identity, early: nil)
    }

    /// Nanoseconds since the epoch before which a file counts as settled (`settleSeconds`).
    private var settledNs: Int64 { Int64((Date().timeIntervalSince1970 - settleSeconds) * 1e9) }

    /// The same, with the inventory's part already encoded by `early` (of this `inv`) when given.
    func store(_ inv: Inventory, addresses: AddressRecording?, source dir: String, identity: Identity,
               early: EarlyInventoryEncoding?) -> UInt64? {
        let settled = settledNs
        guard identity.newestNs < settled, Self.identity(source: dir) == identity else { return nil }
        // Addresses from a file that changed just now, or could not be stat-ed, are left out.
        let usable = addresses.flatMap { a in
            a.reads.allSatisfy { r in r.stamp.map { $0 != FileStamp.unusable && $0.newestNs < settled } ?? true } ? a : nil
        }
        var (encoder, part) = early?.value() ?? {
            var e = FleetCacheFile.Encoder()
            let p = e.encodeInventory(inv)
            return (e, p)
        }()
        let parts = encoder.encodeParts(part, inv, addresses: usable, source: dir, identity: identity.stamps)
        return parts.withPieces {
            BinaryCacheFile.writeSealed(pieces: $0, magic: FleetCacheFile.magic, version: FleetCacheFile.version, to: file(for: dir))
        }
    }
}

extension ResolvedFleetCache {
    /// A directory source's whole fleet for the CLI: the cache's inventory and addresses where they
    /// still hold, the files otherwise; and the store to run once the output is written (nil when
    /// the cache already holds exactly this; it returns the checksum of the file it wrote, if any).
    public func loadFleet(source dir: String) throws -> (fleet: ResolvedFleet, store: (@Sendable () -> UInt64?)?) {
        let identity = Self.identity(source: dir)
        let recorder = VarsReadRecorder()
        let fleet: ResolvedFleet
        var early: EarlyInventoryEncoding?
        if let cached = load(source: dir) {
            fleet = ResolvedFleet(cached: cached, recorder: recorder)
            if fleet.addressesFromCache { return (fleet, nil) }
        } else {
            // The zerotier IP files are read on another core while the inventory is parsed.
            let prefetch = ZerotierPrefetch(root: dir)
            let inventory = try DirectoryInventoryLoader(directory: dir).load()
            // The store's inventory part is encoded on another core while the addresses are resolved;
            // not when the files changed too recently for `store` to take them (its work is thrown
            // away and it takes the core the zerotier read-ahead runs on).
            if let identity, identity.newestNs < settledNs { early = EarlyInventoryEncoding(inventory) }
            fleet = ResolvedFleet(inventory, recorder: recorder, prefetched: prefetch)
        }
        guard let identity else { return (fleet, nil) }
        let recording = AddressRecording(fleet: fleet, reads: recorder.finish())
        let inv = fleet.inventory
        return (fleet, { [early] in self.store(inv, addresses: recording, source: dir, identity: identity, early: early) })
    }
}

/// `FleetCacheFile.Encoder.encodeInventory` of an inventory on a thread of its own, started as soon
/// as the inventory is read: the cold CLI resolves the addresses meanwhile, and its store (on
/// another core, beside the output) then only encodes the addresses. Taken once.
final class EarlyInventoryEncoding: @unchecked Sendable {
    // @unchecked: `result` is written by the thread before `done` is signalled, read after the wait.
    private var result: (FleetCacheFile.Encoder, FleetCacheFile.Encoder.InventoryPart)?
    private let done = DispatchSemaphore(value: 0)

    init(_ inv: Inventory) {
        BackgroundThread.start { [self] in
            var encoder = FleetCacheFile.Encoder()
            let part = encoder.encodeInventory(inv)
            result = (encoder, part)
            done.signal()
        }
    }

    /// The encoder and what it wrote, once the thread is done.
    func value() -> (FleetCacheFile.Encoder, FleetCacheFile.Encoder.InventoryPart) {
        done.wait()
        done.signal()   // for a second caller
        return result!
    }
}

/// A stored rendering of a cached fleet (`fleet list --json`'s output), memory-mapped.
public struct CachedRendering: Sendable {
    let file: MappedFile
    public let bytes: UnsafeRawBufferPointerBox

    /// Writes the bytes to `fd` (stdout), all of them or false.
    public func write(to fd: Int32) -> Bool {
        var off = 0
        let raw = bytes.raw
        while off < raw.count {
            let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
            if n < 0 { if errno == EINTR { continue }; return false }
            off += n
        }
        return true
    }
}

extension ResolvedFleetCache {
    static let renderingMagic = Array("FLTREND1".utf8)

    func renderingFile(_ name: String, for dir: String) -> String { file(for: dir) + "." + name }

    /// The rendering `name` stored with the fleet of `dir`, if that fleet is a hit and every address
    /// still holds: the output of a command that depends on nothing else (no options), written
    /// without decoding the fleet. Paired with the fleet file by its checksum, so a fleet stored
    /// again (other content) orphans it.
    public func rendering(_ name: String, source dir: String) -> CachedRendering? {
        guard let id = Self.identity(source: dir), let main = MappedFile(path: file(for: dir)),
              let body = BinaryCacheFile.body(main.bytes, magic: FleetCacheFile.magic, version: FleetCacheFile.version),
              CachedFleet.addressesHold(body: body, source: dir, identity: id.stamps),
              let stored = MappedFile(path: renderingFile(name, for: dir)),
              let r = BinaryCacheFile.body(stored.bytes, magic: Self.renderingMagic, version: FleetCacheFile.version) else { return nil }
        var c = BinaryCursor(r)
        guard c.u64() == Self.checksum(of: main.bytes), c.string() == name else { return nil }
        return CachedRendering(file: stored, bytes: UnsafeRawBufferPointerBox(UnsafeRawBufferPointer(rebasing: r[c.at...])))
    }

    /// Stores `bytes` as rendering `name` of the fleet file stored for `dir`, if that file is still
    /// the one the rendering was made from (`fleet`: its checksum, from `store` or
    /// `ResolvedFleet.cacheChecksum`) — another process may have stored a newer fleet meanwhile.
    public func storeRendering(_ name: String, _ bytes: [UInt8], source dir: String, fleet: UInt64) {
        storeRendering(name, pieces: [bytes], source: dir, fleet: fleet)
    }

    /// The same, the rendering given as the pieces it was written in (stored as their concatenation).
    public func storeRendering(_ name: String, pieces: [[UInt8]], source dir: String, fleet: UInt64) {
        guard let main = MappedFile(path: file(for: dir)), main.bytes.count >= BinaryCacheFile.headerSize,
              Self.checksum(of: main.bytes) == fleet else { return }
        var w = BinaryWriter()
        w.u64(fleet)
        w.string(name)
        // The output itself is written from where it is (no copy of megabytes into a new buffer).
        func withRaw(_ rest: ArraySlice<[UInt8]>, _ raw: [UnsafeRawBufferPointer]) {
            guard let first = rest.first else {
                _ = BinaryCacheFile.writeSealed(pieces: raw, magic: Self.renderingMagic, version: FleetCacheFile.version,
                                                to: renderingFile(name, for: dir))
                return
            }
            first.withUnsafeBytes { withRaw(rest.dropFirst(), raw + [$0]) }
        }
        withRaw([w.bytes] + pieces, [])
    }

    /// The body checksum in a sealed file's header.
    static func checksum(of sealed: UnsafeRawBufferPointer) -> UInt64 {
        UInt64(littleEndian: sealed.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
    }
}
