// The allocator policy of the process (MallocPolicy.swift says why). Swift's Glibc module does not
// import <malloc.h>, so mallopt is reached from here.
#ifndef FLEET_MALLOC_H
#define FLEET_MALLOC_H

// Fixes glibc's mmap threshold at `bytes` (which also turns off its dynamic raising); 0 where the
// C library is not glibc.
int fleet_fix_mmap_threshold(int bytes);

// Free bytes in all of glibc's arenas (mallinfo2's fordblks, top chunks included): MallocPolicyTests
// sizes a block above it so no free chunk can serve it. 0 where the C library is not glibc.
unsigned long fleet_arena_free_bytes(void);

// Returns the free pages of every glibc arena to the system (malloc_trim(0)): 1 if memory was released.
// 0 where the C library is not glibc.
int fleet_trim(void);

#endif
