/* replay.c: a plain driver for a fuzz target, so that its seed corpus
 * (and every reproducer added to it) is a regression test in make check,
 * under whatever compiler and sanitizers the build was configured with.
 *
 *   tests/fuzz/replay_promtext [FILE|DIR]...
 *
 * Without arguments it replays $top_srcdir/tests/fuzz/corpus/TARGET/
 * (TARGET is compiled in). Each file is read whole into a buffer of
 * exactly its size (so that ASan sees an overread past the end) and
 * handed to LLVMFuzzerTestOneInput(). Exits 0 when every file ran,
 * 1 when a file could not be read or none was found; a finding aborts. */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef FUZZ_TARGET
#error "FUZZ_TARGET must name the target"
#endif

/* replay_file: runs the target on the file at path; -errno on failure. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    size_t cap = 4096, len = 0;
    uint8_t *data = malloc(cap);
    size_t n;
    while (data && (n = fread(data + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap)
            data = realloc(data, cap *= 2);
    }
    int err = ferror(f) ? -EIO : 0;
    fclose(f);
    if (!data)
        abort();
    if (err == 0) {
        /* An exact-size copy: a read past the end is an ASan report. */
        uint8_t *exact = malloc(len ? len : 1);
        if (!exact)
            abort();
        memcpy(exact, data, len);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
    }
    free(data);
    return err;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* replay: runs a file, or every regular file of a directory in name
 * order; returns how many ran, or -errno. */
static long replay(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return replay_file(path) < 0 ? -EIO : 1;
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, cap * sizeof(*names));
        }
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        if (!names || !(names[n] = malloc(len)))
            abort();
        snprintf(names[n++], len, "%s/%s", path, e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), cmp_names);
    long ran = 0;
    for (size_t i = 0; i < n; i++) {
        if (ran >= 0 && replay_file(names[i]) < 0) {
            fprintf(stderr, "%s: cannot read\n", names[i]);
            ran = -EIO;
        } else if (ran >= 0) {
            ran++;
        }
        free(names[i]);
    }
    free(names);
    return ran;
}

int main(int argc, char **argv)
{
    char dir[4096];
    long total = 0;
    if (argc < 2) {
        const char *top = getenv("top_srcdir");
        snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top ? top : ".",
                 FUZZ_TARGET);
    }
    for (int i = argc < 2 ? 0 : 1; i < (argc < 2 ? 1 : argc); i++) {
        const char *path = argc < 2 ? dir : argv[i];
        long ran = replay(path);
        if (ran < 0) {
            fprintf(stderr, "%s: %s\n", path, strerror((int)-ran));
            return 1;
        }
        total += ran;
    }
    printf("replay %s: %ld inputs\n", FUZZ_TARGET, total);
    return total > 0 ? 0 : 1;
}
