/* The per-call floor under a warm `fleet vars check` (docs/PERFORMANCE.md, eleventh session): one
 * million of each call in a loop, on one thread, everything in cache — a null syscall, `fstat` of an
 * open descriptor, `fstatat` of one component relative to a directory descriptor, `stat` of an
 * absolute path of DIR's depth. A warm status makes ~620k stat-family calls at 10k × 10 over ~1M
 * distinct inodes, so each costs more than here (the path walk misses the caches).
 *
 *   cc -O2 -o /tmp/syscall_costs bench/syscall_costs.c
 *   /tmp/syscall_costs /tmp/t10k/vars/per-machine/host-00001 gen-0
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s DIR ENTRY   (DIR absolute, ENTRY a name inside it)\n", argv[0]);
        return 2;
    }
    const int n = 1000000;
    char full[4096];
    snprintf(full, sizeof full, "%s/%s", argv[1], argv[2]);
    int dir = open(argv[1], O_PATH | O_DIRECTORY);
    int fd = open(full, O_RDONLY);
    if (dir < 0 || fd < 0) { perror("open"); return 1; }
    struct stat st;
    double t = now();
    for (int i = 0; i < n; i++) syscall(SYS_getppid);
    double null = now() - t;
    t = now();
    for (int i = 0; i < n; i++) fstat(fd, &st);
    double onfd = now() - t;
    t = now();
    for (int i = 0; i < n; i++) fstatat(dir, argv[2], &st, 0);
    double one = now() - t;
    t = now();
    for (int i = 0; i < n; i++) stat(full, &st);
    double abs = now() - t;
    printf("getppid %.3f us, fstat %.3f us, fstatat 1 component %.3f us, stat %s %.3f us\n",
           null / n * 1e6, onfd / n * 1e6, one / n * 1e6, full, abs / n * 1e6);
    return 0;
}
