#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization

/// The zerotier IP files of a clan directory — `vars/shared/zerotier-ip-*/ip/value`, clan's 26.05
/// layout and `ZerotierView.ipAddress`'s first choice — read on a thread of their own while the
/// inventory is parsed (`fleet list` of a directory without a cache: ~8,000 files at 10k machines,
/// each an open/fstat/read/close that was a quarter of the run, after the parse). Which ones the
/// fleet needs is known only after the resolution, but the directory lists them all.
///
/// Each file is read exactly as `VarsReadRecorder.read` reads it (`VarsReadRecorder.stampedRead`),
/// opened relative to `vars/shared` (a shorter path walk), and kept with its stamp; a resolution's
/// `VarsDirectory` answers a read of one of these paths from here and records that stamp for the
/// machine it reads for (`FleetAddresses.resolve`). A path not listed is read from disk as before.
/// A file changed between this read and the resolution is no different from one changed just after
/// it: the stamp recorded is the one of the bytes used, so the next start sees the change. Belongs
/// to one resolution; never kept.
public final class ZerotierPrefetch: @unchecked Sendable {
    /// What a read of one file gave: the stamps `VarsReadRecorder.read` would record and the value
    /// `VarsDirectory` would return.
    struct File {
        var stamp: FileStamp?
        var grown: Bool
        var value: String?
    }

    /// The clan directory.
    public let root: String
    /// Written by the listing before `listed` is signalled; read-only after.
    private var dir: Int32 = -1
    private var names: [String] = []
    private var slots: [String: Int] = [:]
    private var files: UnsafeMutableBufferPointer<File?> = .init(start: nil, count: 0)
    private let listed = DispatchSemaphore(value: 0)
    /// Chunks of `chunk` files, claimed by the reading thread and by `finish`.
    private static let chunk = 64
    private let claimed = Atomic<Int>(0)
    private let completed = Atomic<Int>(0)
    private let allRead = DispatchSemaphore(value: 0)
    private let finished = Mutex(false)

    /// Starts listing and reading `root`'s files on a thread of its own.
    public init(root: String) {
        self.root = root
        BackgroundThread.start { [self] in
            list()
            listed.signal()
            readChunks()
        }
    }

    deinit {
        files.baseAddress.map { $0.deinitialize(count: files.count); $0.deallocate() }
        if dir >= 0 { close(dir) }
    }

    private var chunks: Int { (names.count + Self.chunk - 1) / Self.chunk }

    private func list() {
        dir = open(root + "/vars/shared", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else { return }
        let copy = dup(dir)
        guard copy >= 0, let d = fdopendir(copy) else { if copy >= 0 { close(copy) }; return }
        defer { closedir(d) }
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix("zerotier-ip-") { names.append(name) }
        }
        slots.reserveCapacity(names.count)
        for (i, name) in names.enumerated() { slots["vars/shared/" + name + "/ip/value"] = i }
        let buffer = UnsafeMutableBufferPointer<File?>.allocate(capacity: names.count)
        buffer.initialize(repeating: nil)
        files = buffer
    }

    /// Reads chunks nobody claimed yet; signals `allRead` after the last one.
    private func readChunks() {
        let total = chunks
        while true {
            let c = claimed.wrappingAdd(1, ordering: .relaxed).oldValue
            guard c < total else { return }
            for i in c * Self.chunk..<min(names.count, (c + 1) * Self.chunk) {
                let read = VarsReadRecorder.stampedRead(dir, names[i] + "/ip/value") { root + "/vars/shared/" + names[i] + "/ip/value" }
                files[i] = File(stamp: read.stamp, grown: read.grown, value: read.bytes.flatMap(VarsDirectory.value(of:)))
            }
            if completed.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue == total { allRead.signal() }
        }
    }

    /// Waits until every listed file is read, reading the ones not started yet on this thread.
    func finish() {
        finished.withLock { done in
            guard !done else { return }
            done = true
            listed.wait()
            readChunks()
            if chunks > 0 { allRead.wait() }
        }
    }

    /// The read of `relative` (a path under the clan directory) if it is one of the files read here.
    /// Only after `finish`.
    func file(_ relative: String) -> File? {
        slots[relative].flatMap { files[$0] }
    }
}
