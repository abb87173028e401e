import CNcursesShim
import Synchronization

/// How the process's allocator treats large blocks (`apply` by the dashboard, `applyOneShot` by a
/// cold `fleet list --json`, each once at its start), and when the dashboard hands free pages back.
///
/// glibc serves blocks above its mmap threshold with their own mapping, returned to the system on
/// free — but by default the threshold is dynamic: freeing such a block raises it to that block's
/// size (up to 32 MiB). Loading a 10k-machine inventory frees a 6 MB file buffer and a 6 MB scan
/// tape, after which every later block below 6 MB (the model's arrays, the search index, the vars
/// overview) came from the heap arenas, whose freed pages stay resident: ~5 MB of the UI's peak RSS
/// at 10k machines (docs/PERFORMANCE.md, "UI render path and memory"). A fixed threshold keeps
/// multi-megabyte blocks in their own mappings. 512 KiB: above a frame's screen buffer (~256 KB,
/// one per frame), so drawing never maps and unmaps memory.
enum MallocPolicy {
    static let mmapThreshold: Int32 = 512 * 1024

    static func apply() {
        _ = fleet_fix_mmap_threshold(mmapThreshold)
        applied.store(true, ordering: .relaxed)
    }

    private static let applied = Atomic<Bool>(false)

    /// After a background load step of the dashboard: hands the free pages of every arena back
    /// (`malloc_trim`). glibc gives each thread an arena and returns an arena's free pages only from
    /// its top, so what one step freed in the middle of its thread's arena stays resident while
    /// the next step grows another thread's arena. Only where `apply` ran (the dashboard).
    static func trim() {
        if applied.load(ordering: .relaxed) { _ = fleet_trim() }
    }

    /// A one-shot command that makes and frees multi-megabyte blocks and then exits (`fleet list
    /// --json` without its stored output: the 6 MB file, the scan tape, grown arrays, the output
    /// pieces and the cache file): every block up to glibc's maximum threshold (32 MiB) from the
    /// heap arenas, where a freed one's pages are reused by the next block instead of each block
    /// being a fresh mapping faulted in page by page and unmapped again. A cold 10k-machine run:
    /// ~10-15 ms less system time, peak RSS +2.6 MB (docs/PERFORMANCE.md, eighth session).
    static let oneShotMmapThreshold: Int32 = 32 << 20

    static func applyOneShot() {
        _ = fleet_fix_mmap_threshold(oneShotMmapThreshold)
    }
}
