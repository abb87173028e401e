#include "fleet_malloc.h"
#if __has_include(<malloc.h>)
#include <malloc.h>
#endif

int fleet_fix_mmap_threshold(int bytes) {
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD)
    return mallopt(M_MMAP_THRESHOLD, bytes);
#else
    (void)bytes;
    return 0;
#endif
}

unsigned long fleet_arena_free_bytes(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    return (unsigned long)mallinfo2().fordblks;
#else
    return 0;
#endif
}

int fleet_trim(void) {
#if defined(__GLIBC__)
    return malloc_trim(0);
#else
    return 0;
#endif
}
