/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fault injection for Casetrail's tests, loaded with LD_PRELOAD: make writes or syncs of chosen
 * files fail with EIO, as a failing disk would.
 *
 *   CASETRAIL_EIO_WRITE=<substring>   write/pwrite/writev to a file whose path contains it fail
 *   CASETRAIL_EIO_SYNC=<substring>    fsync/fdatasync/syncfs of such a file (or folder) fail
 *   CASETRAIL_EIO_AFTER=<n>           let the first n matching calls through (default 0)
 *
 * The path of a descriptor is read from /proc/self/fd: nothing is guessed from names passed to
 * open(), so SQLite's own writes (pwrite64 on case.sqlite-wal) are caught as well as Python's. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static long passed;

static int hit(int fd, const char *var) {
    const char *pattern = getenv(var);
    char link[64], path[4096];
    ssize_t n;
    if (!pattern || !*pattern) return 0;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof path - 1);
    if (n < 0) return 0;
    path[n] = 0;
    if (!strstr(path, pattern)) return 0;
    const char *after = getenv("CASETRAIL_EIO_AFTER");
    if (after && passed < atol(after)) { passed++; return 0; }
    errno = EIO;
    return 1;
}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef int (*sync_fn)(int);

static void *real(const char *name) { return dlsym(RTLD_NEXT, name); }

ssize_t write(int fd, const void *buf, size_t count) {
    static write_fn next;
    if (!next) next = (write_fn)real("write");
    if (hit(fd, "CASETRAIL_EIO_WRITE")) return -1;
    return next(fd, buf, count);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) {
    static pwrite_fn next;
    if (!next) next = (pwrite_fn)real("pwrite");
    if (hit(fd, "CASETRAIL_EIO_WRITE")) return -1;
    return next(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset) {
    static pwrite_fn next;
    if (!next) next = (pwrite_fn)real("pwrite64");
    if (hit(fd, "CASETRAIL_EIO_WRITE")) return -1;
    return next(fd, buf, count, offset);
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt) {
    static writev_fn next;
    if (!next) next = (writev_fn)real("writev");
    if (hit(fd, "CASETRAIL_EIO_WRITE")) return -1;
    return next(fd, iov, iovcnt);
}

static int sync_call(const char *name, sync_fn *next, int fd) {
    if (!*next) *next = (sync_fn)real(name);
    if (hit(fd, "CASETRAIL_EIO_SYNC")) return -1;
    return (*next)(fd);
}

int fsync(int fd) { static sync_fn next; return sync_call("fsync", &next, fd); }
int fdatasync(int fd) { static sync_fn next; return sync_call("fdatasync", &next, fd); }
int syncfs(int fd) { static sync_fn next; return sync_call("syncfs", &next, fd); }
