/* fuzz.h: what every fuzz target in tests/fuzz/ defines and may use.
 *
 * Each fuzz_*.c defines LLVMFuzzerTestOneInput() over one parser. It is
 * linked either with libFuzzer (make fuzz: tests/fuzz/run builds it with
 * clang -fsanitize=fuzzer) or with replay.c, a plain main() that feeds it
 * every file of the target's seed corpus (make check). */
#ifndef REPLGUARD_FUZZ_H
#define REPLGUARD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* LLVMFuzzerTestOneInput: runs the target on size bytes at data; always
 * returns 0 (a finding is a crash or a sanitizer report). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_cstr: a NUL-terminated heap copy of data[0..size) (free() it),
 * for parsers that take C strings. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
