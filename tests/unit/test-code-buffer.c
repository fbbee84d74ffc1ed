/* SPDX-License-Identifier: MIT */
/*
 * The JIT code cache: two views of one memfd (writable, executable), never a page that is
 * both (checked in /proc/self/maps), code written through one view runs through the
 * other, alignment, the size limit, shrinking the last allocation and the full reset.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit/code-buffer.h"

static int fails;
#define CHECK(cond, ...)                                \
    do {                                                \
        if (!(cond)) {                                  \
            fails++;                                    \
            printf("FAIL %s:%d: ", __FILE__, __LINE__); \
            printf(__VA_ARGS__);                        \
            printf("\n");                               \
        }                                               \
    } while (0)

/* The permissions of the mapping containing p, from /proc/self/maps ("r-xs", ...). */
static bool perms_of(const void *p, char out[5])
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return false;
    char line[512];
    bool found = false;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && (uintptr_t)p >= lo &&
            (uintptr_t)p < hi) {
            memcpy(out, perms, 5);
            found = true;
            break;
        }
    }
    fclose(f);
    return found;
}

static bool any_wx_mapping(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return false;
    char line[512];
    bool wx = false;
    while (fgets(line, sizeof(line), f)) {
        char perms[5] = "";
        if (sscanf(line, "%*x-%*x %4s", perms) == 1 && perms[1] == 'w' && perms[2] == 'x' &&
            strstr(line, "vessel-jit"))
            wx = true;
    }
    fclose(f);
    return wx;
}

int main(void)
{
    JitCodeBuf b;
    CHECK(!jit_buf_init(&b, 0), "a zero-sized cache is refused");
    if (!jit_buf_init(&b, 100000)) {
        perror("jit_buf_init");
        return 1;
    }
    CHECK(b.size >= 100000 && b.size % 4096 == 0, "size rounded up to pages: %zu", b.size);
    CHECK(b.rw != b.rx, "two different views");
    char p[5];
    CHECK(perms_of(b.rw, p) && strcmp(p, "rw-s") == 0, "writable view is rw-s, got %s", p);
    CHECK(perms_of(b.rx, p) && strcmp(p, "r-xs") == 0, "executable view is r-xs, got %s", p);
    CHECK(!any_wx_mapping(), "no writable+executable mapping of the cache");

    /* Write `mov eax, 42; ret` and run it. */
    uint8_t *w = jit_buf_alloc(&b, 16, 16);
    CHECK(w == b.rw, "first allocation at the start");
    static const uint8_t code[] = { 0xB8, 42, 0, 0, 0, 0xC3 };
    memcpy(w, code, sizeof(code));
    int (*fn)(void) = (int (*)(void))jit_buf_rx(&b, w);
    CHECK(jit_buf_contains_rx(&b, (void *)fn), "rx pointer is in the executable view");
    CHECK(!jit_buf_contains_rx(&b, w), "rw pointer is not in the executable view");
    CHECK(fn() == 42, "generated code runs through the executable view");

    /* Alignment and shrinking. */
    uint8_t *a = jit_buf_alloc(&b, 3, 1);
    CHECK(a == b.rw + 16, "byte-aligned allocation follows");
    uint8_t *c = jit_buf_alloc(&b, 100, 64);
    CHECK(c && ((uintptr_t)(c - b.rw) % 64) == 0, "64-byte alignment");
    size_t before = b.used;
    jit_buf_shrink_last(&b, c, 100, 10);
    CHECK(b.used == before - 90, "the tail of the last allocation is given back");
    jit_buf_shrink_last(&b, a, 3, 0);
    CHECK(b.used == before - 90, "only the last allocation can shrink");

    /* The limit. */
    CHECK(jit_buf_alloc(&b, b.size, 1) == NULL, "an allocation past the end fails");
    uint8_t *rest = jit_buf_alloc(&b, jit_buf_avail(&b), 1);
    CHECK(rest != NULL && jit_buf_avail(&b) == 0, "the rest can be taken exactly");
    CHECK(jit_buf_alloc(&b, 1, 1) == NULL, "a full cache refuses");

    /* Reset: everything is free again, and new code replaces the old. */
    jit_buf_reset(&b);
    CHECK(b.used == 0 && jit_buf_avail(&b) == b.size, "reset frees everything");
    w = jit_buf_alloc(&b, 16, 16);
    static const uint8_t code2[] = { 0xB8, 7, 0, 0, 0, 0xC3 };
    memcpy(w, code2, sizeof(code2));
    fn = (int (*)(void))jit_buf_rx(&b, w);
    CHECK(fn() == 7, "code written after a reset runs");
    jit_buf_destroy(&b);
    CHECK(b.rw == NULL && b.rx == NULL, "destroyed");
    printf("code buffer: %d failures\n", fails);
    return fails ? 1 : 0;
}
