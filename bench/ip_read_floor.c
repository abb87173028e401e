/* The kernel floor of a cold `fleet list`'s zerotier IP reads, two ways (docs/PERFORMANCE.md,
 * tenth session): `plain` opens, fstats, reads and closes each file like ZerotierPrefetch (one
 * thread); `uring` submits the same work through io_uring in batches of 256 (openat, then statx +
 * read + close hard-linked per file), to see whether fewer syscalls lower it.
 *   apt-get install -y liburing-dev && gcc -O2 -o /tmp/ipread bench/ip_read_floor.c -luring
 *   find TREE/vars/shared -path '*zerotier-ip*' -name value > /tmp/ipfiles.txt
 *   /tmp/ipread plain /tmp/ipfiles.txt; /tmp/ipread uring /tmp/ipfiles.txt
 * Prints wall, user and system ms of six passes over the list. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAXFILES 100000
#define BATCH 256
static char *paths[MAXFILES];
static int n;

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void cpu_ms(double *user, double *sys) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    *user = r.ru_utime.tv_sec * 1e3 + r.ru_utime.tv_usec / 1e3;
    *sys = r.ru_stime.tv_sec * 1e3 + r.ru_stime.tv_usec / 1e3;
}

static long plain(void) {
    long bytes = 0;
    char buf[256];
    struct stat st;
    for (int i = 0; i < n; i++) {
        int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        if (fstat(fd, &st) == 0) bytes += read(fd, buf, sizeof buf);
        close(fd);
    }
    return bytes;
}

static long uring(struct io_uring *ring) {
    static char buf[BATCH][256];
    static struct statx sx[BATCH];
    int fds[BATCH];
    long bytes = 0;
    for (int b = 0; b < n; b += BATCH) {
        int m = n - b < BATCH ? n - b : BATCH;
        for (int i = 0; i < m; i++) {
            struct io_uring_sqe *s = io_uring_get_sqe(ring);
            io_uring_prep_openat(s, AT_FDCWD, paths[b + i], O_RDONLY | O_CLOEXEC, 0);
            s->user_data = i;
        }
        io_uring_submit_and_wait(ring, m);
        for (int k = 0; k < m; k++) {
            struct io_uring_cqe *c;
            io_uring_wait_cqe(ring, &c);
            fds[c->user_data] = c->res;
            io_uring_cqe_seen(ring, c);
        }
        int submitted = 0;
        for (int i = 0; i < m; i++) {
            if (fds[i] < 0) continue;
            /* hard links: a short read must not cancel the close */
            struct io_uring_sqe *s = io_uring_get_sqe(ring);
            io_uring_prep_statx(s, fds[i], "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx[i]);
            s->flags |= IOSQE_IO_HARDLINK;
            s->user_data = 0;
            s = io_uring_get_sqe(ring);
            io_uring_prep_read(s, fds[i], buf[i], sizeof buf[i], 0);
            s->flags |= IOSQE_IO_HARDLINK;
            s->user_data = 1;
            s = io_uring_get_sqe(ring);
            io_uring_prep_close(s, fds[i]);
            s->user_data = 2;
            submitted += 3;
        }
        io_uring_submit_and_wait(ring, submitted);
        for (int k = 0; k < submitted; k++) {
            struct io_uring_cqe *c;
            io_uring_wait_cqe(ring, &c);
            if (c->user_data == 1 && c->res > 0) bytes += c->res;
            io_uring_cqe_seen(ring, c);
        }
    }
    return bytes;
}

int main(int argc, char **argv) {
    if (argc != 3 || (strcmp(argv[1], "plain") && strcmp(argv[1], "uring"))) {
        fprintf(stderr, "usage: %s plain|uring FILE-LIST\n", argv[0]);
        return 64;
    }
    FILE *f = fopen(argv[2], "r");
    if (!f) { perror(argv[2]); return 1; }
    char line[4096];
    while (n < MAXFILES && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        paths[n++] = strdup(line);
    }
    fclose(f);
    struct io_uring ring;
    if (io_uring_queue_init(1024, &ring, 0) < 0) { fprintf(stderr, "io_uring_queue_init failed\n"); return 1; }
    for (int pass = 0; pass < 6; pass++) {
        double u0, s0, u1, s1, t0 = now_ms();
        cpu_ms(&u0, &s0);
        long bytes = argv[1][0] == 'u' ? uring(&ring) : plain();
        double t1 = now_ms();
        cpu_ms(&u1, &s1);
        printf("%s files=%d bytes=%ld wall=%.1f user=%.1f sys=%.1f\n", argv[1], n, bytes, t1 - t0, u1 - u0, s1 - s0);
    }
    return 0;
}
