import CNcursesShim

/// How the process's allocator treats large blocks, set once at the start of `main`.
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
    }
}
