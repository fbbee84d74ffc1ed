/* SPDX-License-Identifier: MIT */
/*
 * IR interpreter: direct-threaded code over pre-decoded operands (see interp.h).
 *
 * Handler naming: <op><bits>_<variant>, variant rr = both operands in slots, ri = second
 * operand is the immediate. Every handler ends by jumping straight to the next one.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/blocks.h"
#include "core/cpu.h"
#include "core/machine.h"
#include "ir/interp.h"

/* The handler macros declare UT/ST/W for every op; not every expression uses all three. */
#pragma GCC diagnostic ignored "-Wunused-local-typedefs"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Scratch slots for materialised constants sit after the block's temps. */
#define SCRATCH_SLOT(i) (IR_MAX_TEMPS - 4 + (i))
#define TEMP_LIMIT      (IR_MAX_TEMPS - 4)
#define OFF_NONE        UINT32_MAX

/* ---- handler list ---- */

/* clang-format off */
#define BINOPS(X) \
    X(ADD) X(SUB) X(MUL) X(MULSH) X(MULUH) X(MULSUH) X(DIV) X(DIVU) X(REM) X(REMU) \
    X(AND) X(OR) X(XOR) X(ANDC) X(ORC) X(SHL) X(SHR) X(SAR) X(ROTL) X(ROTR) \
    X(SMIN) X(SMAX) X(UMIN) X(UMAX)
#define UNOPS(X) \
    X(NOT) X(NEG) X(SEXT8) X(SEXT16) X(SEXT32) X(ZEXT8) X(ZEXT16) X(ZEXT32) \
    X(CLZ) X(CTZ) X(POPCNT) X(BSWAP)
#define CONDS(X) X(EQ) X(NE) X(LT) X(GE) X(LE) X(GT) X(LTU) X(GEU) X(LEU) X(GTU) X(TSTEQ) X(TSTNE)
#define LOADS(X) X(LD8U) X(LD8S) X(LD16U) X(LD16S) X(LD32U) X(LD32S) X(LD64)
#define STORES(X) X(ST8) X(ST16) X(ST32) X(ST64)
#define AMOS(X) X(XCHG) X(ADD) X(AND) X(OR) X(XOR) X(SMIN) X(SMAX) X(UMIN) X(UMAX)

/* Handler ids. The order inside each group matters: see variant() and cond_base(). */
enum {
#define H_BIN(n) H_##n##64_rr, H_##n##64_ri, H_##n##32_rr, H_##n##32_ri,
    BINOPS(H_BIN)
#undef H_BIN
#define H_UN(n) H_##n##64, H_##n##32,
    UNOPS(H_UN)
#undef H_UN
#define H_CC(n) H_SET##n##64_rr, H_SET##n##64_ri, H_SET##n##32_rr, H_SET##n##32_ri, \
                H_BR##n##64_rr, H_BR##n##64_ri, H_BR##n##32_rr, H_BR##n##32_ri,
    CONDS(H_CC)
#undef H_CC
#define H_L(n) H_##n,
    LOADS(H_L) STORES(H_L)
#undef H_L
#define H_A(n) H_AMO_##n##32, H_AMO_##n##64,
    AMOS(H_A)
#undef H_A
    H_CMPXCHG32, H_CMPXCHG64,
    H_MOV, H_MOVI, H_SELECT, H_FENCE, H_FENCE_FULL, H_CALL, H_BR, H_GOTO_BLOCK, H_GOTO_PTR,
    H_EXIT, H_COUNT
};
/* clang-format on */

static const void *handlers[H_COUNT];
static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;

/* ---- arithmetic with defined edge cases ---- */

static inline uint64_t div64(uint64_t a, uint64_t b)
{
    if (b == 0)
        return ~0ull;
    if ((int64_t)a == INT64_MIN && (int64_t)b == -1)
        return a;
    return (uint64_t)((int64_t)a / (int64_t)b);
}
static inline uint64_t rem64(uint64_t a, uint64_t b)
{
    if (b == 0)
        return a;
    if ((int64_t)a == INT64_MIN && (int64_t)b == -1)
        return 0;
    return (uint64_t)((int64_t)a % (int64_t)b);
}
static inline uint32_t div32(uint32_t a, uint32_t b)
{
    if (b == 0)
        return ~0u;
    if ((int32_t)a == INT32_MIN && (int32_t)b == -1)
        return a;
    return (uint32_t)((int32_t)a / (int32_t)b);
}
static inline uint32_t rem32(uint32_t a, uint32_t b)
{
    if (b == 0)
        return a;
    if ((int32_t)a == INT32_MIN && (int32_t)b == -1)
        return 0;
    return (uint32_t)((int32_t)a % (int32_t)b);
}

/* Expressions over a, b of type UT (uint64_t/uint32_t), signed type ST, width W. */
#define E_ADD a + b
#define E_SUB a - b
#define E_MUL a *b
#define E_MULSH                                                          \
    (W == 64 ? (UT)(((__int128)(int64_t)a * (__int128)(int64_t)b) >> 64) \
             : (UT)(((int64_t)(int32_t)a * (int64_t)(int32_t)b) >> 32))
#define E_MULUH \
    (W == 64 ? (UT)(((unsigned __int128)a * b) >> 64) : (UT)(((uint64_t)a * (uint64_t)b) >> 32))
#define E_MULSUH                                                          \
    (W == 64 ? (UT)(((__int128)(int64_t)a * (__int128)(uint64_t)b) >> 64) \
             : (UT)(((int64_t)(int32_t)a * (int64_t)(uint64_t)b) >> 32))
#define E_DIV    (W == 64 ? (UT)div64(a, b) : (UT)div32((uint32_t)a, (uint32_t)b))
#define E_DIVU   (b == 0 ? (UT) ~(UT)0 : a / (b ? b : 1))
#define E_REM    (W == 64 ? (UT)rem64(a, b) : (UT)rem32((uint32_t)a, (uint32_t)b))
#define E_REMU   (b == 0 ? a : a % (b ? b : 1))
#define E_AND    a &b
#define E_OR     a | b
#define E_XOR    a ^ b
#define E_ANDC   a & ~b
#define E_ORC    a | ~b
#define E_SHL    a << (b & (W - 1))
#define E_SHR    a >> (b & (W - 1))
#define E_SAR    (UT)((ST)a >> (b & (W - 1)))
#define E_ROTL   ((a << (b & (W - 1))) | (a >> ((W - (b & (W - 1))) & (W - 1))))
#define E_ROTR   ((a >> (b & (W - 1))) | (a << ((W - (b & (W - 1))) & (W - 1))))
#define E_SMIN   ((ST)a < (ST)b ? a : b)
#define E_SMAX   ((ST)a > (ST)b ? a : b)
#define E_UMIN   (a < b ? a : b)
#define E_UMAX   (a > b ? a : b)

#define U_NOT    ~a
#define U_NEG    -a
#define U_SEXT8  (UT)(ST)(int8_t)a
#define U_SEXT16 (UT)(ST)(int16_t)a
#define U_SEXT32 (UT)(ST)(int32_t)a
#define U_ZEXT8  (UT)(uint8_t) a
#define U_ZEXT16 (UT)(uint16_t) a
#define U_ZEXT32 (UT)(uint32_t) a
#define U_CLZ    (a ? (UT)(W == 64 ? __builtin_clzll(a) : __builtin_clz((uint32_t)a)) : (UT)W)
#define U_CTZ    (a ? (UT)(W == 64 ? __builtin_ctzll(a) : __builtin_ctz((uint32_t)a)) : (UT)W)
#define U_POPCNT (UT)(W == 64 ? __builtin_popcountll(a) : __builtin_popcount((uint32_t)a))
#define U_BSWAP  (W == 64 ? (UT)__builtin_bswap64(a) : (UT)__builtin_bswap32((uint32_t)a))

#define C_EQ     (a == b)
#define C_NE     (a != b)
#define C_LT     ((ST)a < (ST)b)
#define C_GE     ((ST)a >= (ST)b)
#define C_LE     ((ST)a <= (ST)b)
#define C_GT     ((ST)a > (ST)b)
#define C_LTU    (a < b)
#define C_GEU    (a >= b)
#define C_LEU    (a <= b)
#define C_GTU    (a > b)
#define C_TSTEQ  ((a & b) == 0)
#define C_TSTNE  ((a & b) != 0)

static inline uint64_t amo_apply(int op, uint64_t old, uint64_t v, int size)
{
    switch (op) {
    case IR_AMO_SMIN:
        return size == 4 ? ((int32_t)old < (int32_t)v ? old : v)
                         : ((int64_t)old < (int64_t)v ? old : v);
    case IR_AMO_SMAX:
        return size == 4 ? ((int32_t)old > (int32_t)v ? old : v)
                         : ((int64_t)old > (int64_t)v ? old : v);
    case IR_AMO_UMIN:
        return size == 4 ? ((uint32_t)old < (uint32_t)v ? old : v) : (old < v ? old : v);
    default: return size == 4 ? ((uint32_t)old > (uint32_t)v ? old : v) : (old > v ? old : v);
    }
}

static uint64_t amo_minmax(void *p, int op, uint64_t v, int size)
{
    if (size == 4) {
        uint32_t old = __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n((uint32_t *)p, &old, (uint32_t)amo_apply(op, old, v, 4),
                                            true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
            ;
        return old;
    }
    uint64_t old = __atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n((uint64_t *)p, &old, amo_apply(op, old, v, 8), true,
                                        __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
        ;
    return old;
}

static inline uint64_t call_helper(VsCpu *cpu, const InterpCall *c, const uint8_t *env)
{
    uint64_t a[IR_MAX_HELPER_ARGS];
    for (unsigned i = 0; i < c->nargs; i++)
        a[i] = (c->const_mask >> i) & 1 ? c->vals[i] : *(const uint64_t *)(env + c->off[i]);
    typedef uint64_t U;
    if (c->pass_cpu) {
        switch (c->nargs) {
        case 0: return ((U(*)(VsCpu *))c->fn)(cpu);
        case 1: return ((U(*)(VsCpu *, U))c->fn)(cpu, a[0]);
        case 2: return ((U(*)(VsCpu *, U, U))c->fn)(cpu, a[0], a[1]);
        case 3: return ((U(*)(VsCpu *, U, U, U))c->fn)(cpu, a[0], a[1], a[2]);
        case 4: return ((U(*)(VsCpu *, U, U, U, U))c->fn)(cpu, a[0], a[1], a[2], a[3]);
        case 5: return ((U(*)(VsCpu *, U, U, U, U, U))c->fn)(cpu, a[0], a[1], a[2], a[3], a[4]);
        default:
            return ((U(*)(VsCpu *, U, U, U, U, U, U))c->fn)(cpu, a[0], a[1], a[2], a[3], a[4],
                                                            a[5]);
        }
    }
    switch (c->nargs) {
    case 0: return ((U(*)(void))c->fn)();
    case 1: return ((U(*)(U))c->fn)(a[0]);
    case 2: return ((U(*)(U, U))c->fn)(a[0], a[1]);
    case 3: return ((U(*)(U, U, U))c->fn)(a[0], a[1], a[2]);
    case 4: return ((U(*)(U, U, U, U))c->fn)(a[0], a[1], a[2], a[3]);
    case 5: return ((U(*)(U, U, U, U, U))c->fn)(a[0], a[1], a[2], a[3], a[4]);
    default: return ((U(*)(U, U, U, U, U, U))c->fn)(a[0], a[1], a[2], a[3], a[4], a[5]);
    }
}

/* With the JIT tier on, a successor that has generated code, or is hot enough to get
 * some, is left to jit_run instead of being interpreted. */
static inline bool jit_takes_over(const VsCpu *cpu, const VsBlock *nb)
{
    return unlikely(cpu->jit_enabled) &&
           (__atomic_load_n(&nb->jit_code, __ATOMIC_RELAXED) ||
            (!nb->jit_failed &&
             __atomic_load_n(&nb->exec_count, __ATOMIC_RELAXED) >= cpu->jit_threshold));
}

/* ---- the dispatch loop ---- */

static void init_handlers(void)
{
    interp_exec(NULL, NULL);
}

int interp_exec(VsCpu *cpu, VsBlock *b)
{
    if (unlikely(!cpu)) {
#define T_BIN(n)                             \
    handlers[H_##n##64_rr] = &&L_##n##64_rr; \
    handlers[H_##n##64_ri] = &&L_##n##64_ri; \
    handlers[H_##n##32_rr] = &&L_##n##32_rr; \
    handlers[H_##n##32_ri] = &&L_##n##32_ri;
        BINOPS(T_BIN)
#undef T_BIN
#define T_UN(n)                        \
    handlers[H_##n##64] = &&L_##n##64; \
    handlers[H_##n##32] = &&L_##n##32;
        UNOPS(T_UN)
#undef T_UN
#define T_CC(n)                                    \
    handlers[H_SET##n##64_rr] = &&L_SET##n##64_rr; \
    handlers[H_SET##n##64_ri] = &&L_SET##n##64_ri; \
    handlers[H_SET##n##32_rr] = &&L_SET##n##32_rr; \
    handlers[H_SET##n##32_ri] = &&L_SET##n##32_ri; \
    handlers[H_BR##n##64_rr] = &&L_BR##n##64_rr;   \
    handlers[H_BR##n##64_ri] = &&L_BR##n##64_ri;   \
    handlers[H_BR##n##32_rr] = &&L_BR##n##32_rr;   \
    handlers[H_BR##n##32_ri] = &&L_BR##n##32_ri;
        CONDS(T_CC)
#undef T_CC
#define T_L(n) handlers[H_##n] = &&L_##n;
        LOADS(T_L)
        STORES(T_L)
#undef T_L
#define T_A(n)                                 \
    handlers[H_AMO_##n##32] = &&L_AMO_##n##32; \
    handlers[H_AMO_##n##64] = &&L_AMO_##n##64;
        AMOS(T_A)
#undef T_A
        handlers[H_CMPXCHG32] = &&L_CMPXCHG32;
        handlers[H_CMPXCHG64] = &&L_CMPXCHG64;
        handlers[H_MOV] = &&L_MOV;
        handlers[H_MOVI] = &&L_MOVI;
        handlers[H_SELECT] = &&L_SELECT;
        handlers[H_FENCE] = &&L_FENCE;
        handlers[H_FENCE_FULL] = &&L_FENCE_FULL;
        handlers[H_CALL] = &&L_CALL;
        handlers[H_BR] = &&L_BR;
        handlers[H_GOTO_BLOCK] = &&L_GOTO_BLOCK;
        handlers[H_GOTO_PTR] = &&L_GOTO_PTR;
        handlers[H_EXIT] = &&L_EXIT;
        return 0;
    }

    uint8_t *const env = (uint8_t *)cpu;
    const uint32_t pc_off = cpu->ops->globals->defs[cpu->ops->globals->pc_global].offset;
    const TlbFast *const tlb = cpu->tlb;
    const InterpInsn *ip;
    const InterpInsn *b_code;

#define R(off)   (*(uint64_t *)(env + (off)))
#define DISPATCH goto * ip->h
#define NEXT      \
    do {          \
        ip++;     \
        DISPATCH; \
    } while (0)

    goto enter_block;

    /* Binary ops. */
#define L_BIN(n)                               \
    L_##n##64_rr:                              \
    {                                          \
        typedef uint64_t UT;                   \
        typedef int64_t ST;                    \
        enum { W = 64 };                       \
        UT a = R(ip->a), b = R(ip->b);         \
        R(ip->d) = (UT)(E_##n);                \
        NEXT;                                  \
    }                                          \
    L_##n##64_ri:                              \
    {                                          \
        typedef uint64_t UT;                   \
        typedef int64_t ST;                    \
        enum { W = 64 };                       \
        UT a = R(ip->a), b = ip->imm;          \
        R(ip->d) = (UT)(E_##n);                \
        NEXT;                                  \
    }                                          \
    L_##n##32_rr:                              \
    {                                          \
        typedef uint32_t UT;                   \
        typedef int32_t ST;                    \
        enum { W = 32 };                       \
        UT a = (UT)R(ip->a), b = (UT)R(ip->b); \
        R(ip->d) = (UT)(E_##n);                \
        NEXT;                                  \
    }                                          \
    L_##n##32_ri:                              \
    {                                          \
        typedef uint32_t UT;                   \
        typedef int32_t ST;                    \
        enum { W = 32 };                       \
        UT a = (UT)R(ip->a), b = (UT)ip->imm;  \
        R(ip->d) = (UT)(E_##n);                \
        NEXT;                                  \
    }
    BINOPS(L_BIN)
#undef L_BIN

#define L_UN(n)                 \
    L_##n##64:                  \
    {                           \
        typedef uint64_t UT;    \
        typedef int64_t ST;     \
        enum { W = 64 };        \
        UT a = R(ip->a);        \
        R(ip->d) = (UT)(U_##n); \
        NEXT;                   \
    }                           \
    L_##n##32:                  \
    {                           \
        typedef uint32_t UT;    \
        typedef int32_t ST;     \
        enum { W = 32 };        \
        UT a = (UT)R(ip->a);    \
        R(ip->d) = (UT)(U_##n); \
        NEXT;                   \
    }
    UNOPS(L_UN)
#undef L_UN

#define L_CC(n)                                \
    L_SET##n##64_rr:                           \
    {                                          \
        typedef uint64_t UT;                   \
        typedef int64_t ST;                    \
        UT a = R(ip->a), b = R(ip->b);         \
        R(ip->d) = C_##n;                      \
        NEXT;                                  \
    }                                          \
    L_SET##n##64_ri:                           \
    {                                          \
        typedef uint64_t UT;                   \
        typedef int64_t ST;                    \
        UT a = R(ip->a), b = ip->imm;          \
        R(ip->d) = C_##n;                      \
        NEXT;                                  \
    }                                          \
    L_SET##n##32_rr:                           \
    {                                          \
        typedef uint32_t UT;                   \
        typedef int32_t ST;                    \
        UT a = (UT)R(ip->a), b = (UT)R(ip->b); \
        R(ip->d) = C_##n;                      \
        NEXT;                                  \
    }                                          \
    L_SET##n##32_ri:                           \
    {                                          \
        typedef uint32_t UT;                   \
        typedef int32_t ST;                    \
        UT a = (UT)R(ip->a), b = (UT)ip->imm;  \
        R(ip->d) = C_##n;                      \
        NEXT;                                  \
    }                                          \
    L_BR##n##64_rr:                            \
    {                                          \
        typedef uint64_t UT;                   \
        typedef int64_t ST;                    \
        UT a = R(ip->a), b = R(ip->b);         \
        if (C_##n) {                           \
            ip = b_code + ip->c;               \
            DISPATCH;                          \
        }                                      \
        NEXT;                                  \
    }                                          \
    L_BR##n##64_ri:                            \
    {                                          \
        typedef uint64_t UT;                   \
        typedef int64_t ST;                    \
        UT a = R(ip->a), b = ip->imm;          \
        if (C_##n) {                           \
            ip = b_code + ip->c;               \
            DISPATCH;                          \
        }                                      \
        NEXT;                                  \
    }                                          \
    L_BR##n##32_rr:                            \
    {                                          \
        typedef uint32_t UT;                   \
        typedef int32_t ST;                    \
        UT a = (UT)R(ip->a), b = (UT)R(ip->b); \
        if (C_##n) {                           \
            ip = b_code + ip->c;               \
            DISPATCH;                          \
        }                                      \
        NEXT;                                  \
    }                                          \
    L_BR##n##32_ri:                            \
    {                                          \
        typedef uint32_t UT;                   \
        typedef int32_t ST;                    \
        UT a = (UT)R(ip->a), b = (UT)ip->imm;  \
        if (C_##n) {                           \
            ip = b_code + ip->c;               \
            DISPATCH;                          \
        }                                      \
        NEXT;                                  \
    }
    CONDS(L_CC)
#undef L_CC

    /* Loads and stores: inline TLB hit, slow path on anything else. */
#define L_LOAD(n, T, size, EXT)                                              \
    L_##n:                                                                   \
    {                                                                        \
        uint64_t va = R(ip->a) + ip->imm;                                    \
        const TlbEntry *e = tlb_entry(&tlb[IR_MEM_MMUIDX(ip->c)], va);       \
        T v;                                                                 \
        if (likely((va & (GUEST_PAGE_MASK | (size - 1))) == e->addr_read)) { \
            memcpy(&v, (const void *)(uintptr_t)(va + e->addend), size);     \
        } else {                                                             \
            cpu->cur_op = ip;                                                \
            v = (T)mmu_load_slow(cpu, va, ip->c);                            \
        }                                                                    \
        R(ip->d) = EXT;                                                      \
        NEXT;                                                                \
    }
    L_LOAD(LD8U, uint8_t, 1, (uint64_t)v)
    L_LOAD(LD8S, uint8_t, 1, (uint64_t)(int64_t)(int8_t)v)
    L_LOAD(LD16U, uint16_t, 2, (uint64_t)v)
    L_LOAD(LD16S, uint16_t, 2, (uint64_t)(int64_t)(int16_t)v)
    L_LOAD(LD32U, uint32_t, 4, (uint64_t)v)
    L_LOAD(LD32S, uint32_t, 4, (uint64_t)(int64_t)(int32_t)v)
    L_LOAD(LD64, uint64_t, 8, v)
#undef L_LOAD

#define L_STORE(n, T, size)                                                   \
    L_##n:                                                                    \
    {                                                                         \
        uint64_t va = R(ip->a) + ip->imm;                                     \
        const TlbEntry *e = tlb_entry(&tlb[IR_MEM_MMUIDX(ip->c)], va);        \
        T v = (T)R(ip->b);                                                    \
        if (likely((va & (GUEST_PAGE_MASK | (size - 1))) == e->addr_write)) { \
            memcpy((void *)(uintptr_t)(va + e->addend), &v, size);            \
        } else {                                                              \
            cpu->cur_op = ip;                                                 \
            mmu_store_slow(cpu, va, v, ip->c);                                \
        }                                                                     \
        NEXT;                                                                 \
    }
    L_STORE(ST8, uint8_t, 1)
    L_STORE(ST16, uint16_t, 2)
    L_STORE(ST32, uint32_t, 4)
    L_STORE(ST64, uint64_t, 8)
#undef L_STORE

    /* Atomics: the host pointer comes from the TLB (write permission, aligned). */
#define AMO_PTR(size)                                                   \
    uint64_t va = R(ip->a);                                             \
    const TlbEntry *e = tlb_entry(&tlb[IR_MEM_MMUIDX(ip->c)], va);      \
    void *p;                                                            \
    if (likely((va & (GUEST_PAGE_MASK | (size - 1))) == e->addr_write)) \
        p = (void *)(uintptr_t)(va + e->addend);                        \
    else {                                                              \
        cpu->cur_op = ip;                                               \
        p = mmu_atomic_host(cpu, va, ip->c);                            \
    }
#define AMO_XCHG(T, p, v) __atomic_exchange_n((T *)p, (T)v, __ATOMIC_SEQ_CST)
#define AMO_ADD(T, p, v)  __atomic_fetch_add((T *)p, (T)v, __ATOMIC_SEQ_CST)
#define AMO_AND(T, p, v)  __atomic_fetch_and((T *)p, (T)v, __ATOMIC_SEQ_CST)
#define AMO_OR(T, p, v)   __atomic_fetch_or((T *)p, (T)v, __ATOMIC_SEQ_CST)
#define AMO_XOR(T, p, v)  __atomic_fetch_xor((T *)p, (T)v, __ATOMIC_SEQ_CST)
#define AMO_SMIN(T, p, v) amo_minmax(p, IR_AMO_SMIN, v, sizeof(T))
#define AMO_SMAX(T, p, v) amo_minmax(p, IR_AMO_SMAX, v, sizeof(T))
#define AMO_UMIN(T, p, v) amo_minmax(p, IR_AMO_UMIN, v, sizeof(T))
#define AMO_UMAX(T, p, v) amo_minmax(p, IR_AMO_UMAX, v, sizeof(T))
#define L_AMO(n)                                             \
    L_AMO_##n##32:                                           \
    {                                                        \
        AMO_PTR(4);                                          \
        R(ip->d) = (uint32_t)AMO_##n(uint32_t, p, R(ip->b)); \
        NEXT;                                                \
    }                                                        \
    L_AMO_##n##64:                                           \
    {                                                        \
        AMO_PTR(8);                                          \
        R(ip->d) = (uint64_t)AMO_##n(uint64_t, p, R(ip->b)); \
        NEXT;                                                \
    }
    AMOS(L_AMO)
#undef L_AMO

L_CMPXCHG32 : {
    AMO_PTR(4);
    uint32_t exp = (uint32_t)R(ip->b);
    __atomic_compare_exchange_n((uint32_t *)p, &exp, (uint32_t)R(ip->imm), false, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    R(ip->d) = exp;
    NEXT;
}
L_CMPXCHG64 : {
    AMO_PTR(8);
    uint64_t exp = R(ip->b);
    __atomic_compare_exchange_n((uint64_t *)p, &exp, R(ip->imm), false, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    R(ip->d) = exp;
    NEXT;
}

L_MOV:
    R(ip->d) = R(ip->a);
    NEXT;
L_MOVI:
    R(ip->d) = ip->imm;
    NEXT;
L_SELECT:
    R(ip->d) = R(ip->a) ? R(ip->b) : R(ip->c);
    NEXT;
L_FENCE:
    atomic_signal_fence(memory_order_seq_cst);
    NEXT;
L_FENCE_FULL:
    atomic_thread_fence(memory_order_seq_cst);
    NEXT;
L_CALL : {
    const InterpCall *c = (const InterpCall *)(uintptr_t)ip->imm;
    cpu->cur_op = ip;
    uint64_t r = call_helper(cpu, c, env);
    if (ip->d != OFF_NONE)
        R(ip->d) = r;
    NEXT;
}
L_BR:
    ip = b_code + ip->c;
    DISPATCH;
L_GOTO_BLOCK : {
    R(pc_off) = ip->imm;
    VsBlock *nb = __atomic_load_n(&ip->chain, __ATOMIC_RELAXED);
    if (likely(nb && atomic_load_explicit(&nb->valid, memory_order_relaxed) &&
               !jit_takes_over(cpu, nb))) {
        if (unlikely(atomic_load_explicit(&cpu->interrupt_request, memory_order_relaxed)))
            return INTERP_RET_REQUEST;
        b = nb;
        goto enter_block;
    }
    goto chain;
}
L_GOTO_PTR:
    R(pc_off) = R(ip->a);
    goto chain;
L_EXIT:
    return INTERP_RET_EXIT_BASE + (int)ip->imm;

chain : {
    if (unlikely(atomic_load_explicit(&cpu->interrupt_request, memory_order_relaxed)))
        return INTERP_RET_REQUEST;
    uint64_t pc = R(pc_off);
    const JmpCacheEntry *je = &cpu->jmp_cache[jmp_cache_hash(pc)];
    VsBlock *nb = je->block;
    if (unlikely(je->vpc != pc || je->mode != cpu->mode || !nb ||
                 !atomic_load_explicit(&nb->valid, memory_order_relaxed))) {
        cpu->stats.jmp_cache_misses++;
        return INTERP_RET_LOOKUP;
    }
    if (unlikely(jit_takes_over(cpu, nb)))
        return INTERP_RET_LOOKUP; /* the JIT tier runs (or compiles) it: see jit_run */
    /* A direct exit to the same guest page: remember the successor in the exit itself. */
    if (ip->h == handlers[H_GOTO_BLOCK] && ((pc ^ b->vpc) & GUEST_PAGE_MASK) == 0)
        __atomic_store_n(&((InterpInsn *)ip)->chain, nb, __ATOMIC_RELAXED);
    b = nb;
}
enter_block : {
    cpu->cur_block = b;
    __atomic_store_n(&b->exec_count, __atomic_load_n(&b->exec_count, __ATOMIC_RELAXED) + 1,
                     __ATOMIC_RELAXED);
    cpu->insn_count += b->ninsns;
    cpu->stats.blocks_executed++;
    ip = b->code;
    b_code = b->code;
    DISPATCH;
}
#undef R
#undef DISPATCH
#undef NEXT
}

void interp_unchain(InterpInsn *code, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (code[i].h == handlers[H_GOTO_BLOCK])
            __atomic_store_n(&code[i].chain, NULL, __ATOMIC_RELAXED);
}

/* ---- compiling IR into interpreter code ---- */

typedef struct Emitter {
    const IrFunc *f;
    InterpInsn *code; /* NULL while sizing */
    InterpCall *calls;
    VsInsnMap *map;
    unsigned n, ncalls, nmap;
    uint32_t *label_pos;
} Emitter;

static uint32_t slot_off(const IrFunc *f, IrVal v)
{
    const IrValInfo *vi = &f->vals[v];
    if (vi->kind == IR_VK_GLOBAL)
        return vi->offset;
    return (uint32_t)(offsetof(VsCpu, temps) + 8u * vi->offset);
}

static InterpInsn *put(Emitter *e, int h)
{
    static InterpInsn sink;
    if (!e->code) {
        e->n++;
        return &sink;
    }
    InterpInsn *in = &e->code[e->n++];
    memset(in, 0, sizeof(*in));
    in->h = handlers[h];
    return in;
}

/* Operand in a slot: constants are materialised into scratch slot `scratch`. */
static uint32_t reg_operand(Emitter *e, IrVal v, int scratch)
{
    if (e->f->vals[v].kind != IR_VK_CONST)
        return slot_off(e->f, v);
    uint32_t off = (uint32_t)(offsetof(VsCpu, temps) + 8u * SCRATCH_SLOT(scratch));
    InterpInsn *in = put(e, H_MOVI);
    in->d = off;
    in->imm = e->f->vals[v].value;
    return off;
}

static int bin_handler(IrOpcode opc)
{
    switch (opc) {
#define C_BIN(n) \
    case IR_OP_##n: return H_##n##64_rr;
        BINOPS(C_BIN)
#undef C_BIN
    default: return -1;
    }
}

static int un_handler(IrOpcode opc)
{
    switch (opc) {
#define C_UN(n) \
    case IR_OP_##n: return H_##n##64;
        UNOPS(C_UN)
#undef C_UN
    default: return -1;
    }
}

static bool commutative(IrOpcode opc)
{
    switch (opc) {
    case IR_OP_ADD:
    case IR_OP_MUL:
    case IR_OP_MULSH:
    case IR_OP_MULUH:
    case IR_OP_AND:
    case IR_OP_OR:
    case IR_OP_XOR:
    case IR_OP_SMIN:
    case IR_OP_SMAX:
    case IR_OP_UMIN:
    case IR_OP_UMAX: return true;
    default: return false;
    }
}

/* Handler ids are laid out [64_rr, 64_ri, 32_rr, 32_ri] per binop and per condition. */
static int variant(int base, IrType t, bool imm)
{
    return base + (t == IR_I32 ? 2 : 0) + (imm ? 1 : 0);
}

static int cond_base(IrCond c, bool branch)
{
    return H_SETEQ64_rr + (int)c * 8 + (branch ? 4 : 0);
}

static uint32_t dst_off(Emitter *e, IrVal d)
{
    return d == IR_NONE ? OFF_NONE : slot_off(e->f, d);
}

static void emit_op(Emitter *e, const IrOp *op)
{
    const IrFunc *f = e->f;
    IrOpcode opc = (IrOpcode)op->opc;
    IrType t = (IrType)op->type;
    InterpInsn *in;
    int h;

    if ((h = bin_handler(opc)) >= 0) {
        IrVal a = op->a, b = op->b;
        if (ir_is_const(f, a) && !ir_is_const(f, b) && commutative(opc)) {
            IrVal tmp = a;
            a = b;
            b = tmp;
        }
        uint32_t ra = reg_operand(e, a, 0);
        bool bi = ir_is_const(f, b);
        uint32_t rb = bi ? 0 : reg_operand(e, b, 1);
        in = put(e, variant(h, t, bi));
        in->d = dst_off(e, op->d);
        in->a = ra;
        in->b = rb;
        in->imm = bi ? ir_const_value(f, b) : 0;
        return;
    }
    if ((h = un_handler(opc)) >= 0) {
        uint32_t ra = reg_operand(e, op->a, 0);
        in = put(e, h + (t == IR_I32 ? 1 : 0));
        in->d = dst_off(e, op->d);
        in->a = ra;
        return;
    }
    switch (opc) {
    case IR_OP_NOP:
    case IR_OP_INSN_START:
    case IR_OP_LABEL: return; /* handled by the caller */
    case IR_OP_MOV:
        if (ir_is_const(f, op->a)) {
            in = put(e, H_MOVI);
            in->d = dst_off(e, op->d);
            in->imm = ir_const_value(f, op->a);
            if (t == IR_I32)
                in->imm = (uint32_t)in->imm;
        } else {
            uint32_t ra = slot_off(f, op->a);
            in = put(e, t == IR_I32 ? H_ZEXT3264 : H_MOV);
            in->d = dst_off(e, op->d);
            in->a = ra;
        }
        return;
    case IR_OP_SETCOND:
    case IR_OP_BRCOND: {
        IrCond c = (IrCond)op->flags;
        IrVal a = op->a, b = op->b;
        if (ir_is_const(f, a) && !ir_is_const(f, b)) {
            IrVal tmp = a;
            a = b;
            b = tmp;
            c = ir_cond_swap(c);
        }
        uint32_t ra = reg_operand(e, a, 0);
        bool bi = ir_is_const(f, b);
        uint32_t rb = bi ? 0 : reg_operand(e, b, 1);
        bool br = opc == IR_OP_BRCOND;
        in = put(e, variant(cond_base(c, br), t, bi));
        in->a = ra;
        in->b = rb;
        in->imm = bi ? ir_const_value(f, b) : 0;
        if (br)
            in->c = e->label_pos[op->aux];
        else
            in->d = dst_off(e, op->d);
        return;
    }
    case IR_OP_SELECT: {
        uint32_t ra = reg_operand(e, op->a, 0);
        uint32_t rb = reg_operand(e, op->b, 1);
        uint32_t rc = reg_operand(e, op->c, 2);
        in = put(e, H_SELECT);
        in->d = dst_off(e, op->d);
        in->a = ra;
        in->b = rb;
        in->c = rc;
        return;
    }
    case IR_OP_LD: {
        static const int lh[4][2] = {
            { H_LD8U, H_LD8S }, { H_LD16U, H_LD16S }, { H_LD32U, H_LD32S }, { H_LD64, H_LD64 }
        };
        unsigned sz = IR_MEM_LOG2SIZE(op->flags);
        bool sign = op->flags & IR_MEM_SIGN;
        uint32_t ra = reg_operand(e, op->a, 0);
        in = put(e, lh[sz][sign]);
        in->d = dst_off(e, op->d);
        in->a = ra;
        in->c = op->flags;
        in->imm = (uint64_t)(int64_t)(int32_t)op->aux;
        if (t == IR_I32 && sign && sz < 3) {
            uint32_t d = dst_off(e, op->d);
            in = put(e, H_ZEXT3264);
            in->d = d;
            in->a = d;
        }
        return;
    }
    case IR_OP_ST: {
        static const int sh[4] = { H_ST8, H_ST16, H_ST32, H_ST64 };
        uint32_t ra = reg_operand(e, op->a, 0);
        uint32_t rb = reg_operand(e, op->b, 1);
        in = put(e, sh[IR_MEM_LOG2SIZE(op->flags)]);
        in->a = ra;
        in->b = rb;
        in->c = op->flags;
        in->imm = (uint64_t)(int64_t)(int32_t)op->aux;
        return;
    }
    case IR_OP_ATOMIC_RMW: {
        static const int ah[IR_AMO_COUNT] = { H_AMO_XCHG32, H_AMO_ADD32,  H_AMO_AND32,
                                              H_AMO_OR32,   H_AMO_XOR32,  H_AMO_SMIN32,
                                              H_AMO_SMAX32, H_AMO_UMIN32, H_AMO_UMAX32 };
        uint32_t ra = reg_operand(e, op->a, 0);
        uint32_t rb = reg_operand(e, op->b, 1);
        bool is64 = IR_MEM_LOG2SIZE(op->flags) == 3;
        in = put(e, ah[op->aux < IR_AMO_COUNT ? op->aux : 0] + (is64 ? 1 : 0));
        in->d = dst_off(e, op->d);
        in->a = ra;
        in->b = rb;
        in->c = op->flags;
        return;
    }
    case IR_OP_CMPXCHG: {
        uint32_t ra = reg_operand(e, op->a, 0);
        uint32_t rb = reg_operand(e, op->b, 1);
        uint32_t rc = reg_operand(e, op->c, 2);
        bool is64 = IR_MEM_LOG2SIZE(op->flags) == 3;
        in = put(e, is64 ? H_CMPXCHG64 : H_CMPXCHG32);
        in->d = dst_off(e, op->d);
        in->a = ra;
        in->b = rb;
        in->c = op->flags;
        in->imm = rc;
        return;
    }
    case IR_OP_FENCE: put(e, op->aux == IR_FENCE_FULL ? H_FENCE_FULL : H_FENCE); return;
    case IR_OP_CALL: {
        const IrCall *ic = &f->calls[op->aux];
        unsigned ci = e->ncalls++;
        in = put(e, H_CALL);
        in->d = dst_off(e, op->d);
        if (e->code) {
            InterpCall *c = &e->calls[ci];
            memset(c, 0, sizeof(*c));
            c->fn = ic->helper->fn;
            c->nargs = ic->helper->nargs;
            c->flags = ic->helper->flags;
            c->pass_cpu = (ic->helper->flags & IR_HELPER_PASS_CPU) != 0;
            for (unsigned i = 0; i < c->nargs; i++) {
                IrVal v = ic->args[i];
                if (ir_is_const(f, v)) {
                    c->const_mask |= 1u << i;
                    c->vals[i] = ir_const_value(f, v);
                } else {
                    c->off[i] = slot_off(f, v);
                }
            }
            in->imm = (uint64_t)(uintptr_t)c;
        }
        return;
    }
    case IR_OP_BR:
        in = put(e, H_BR);
        in->c = e->label_pos[op->aux];
        return;
    case IR_OP_GOTO_BLOCK:
        in = put(e, H_GOTO_BLOCK);
        in->imm = f->pcs[op->aux];
        return;
    case IR_OP_GOTO_PTR: {
        uint32_t ra = reg_operand(e, op->a, 0);
        in = put(e, H_GOTO_PTR);
        in->a = ra;
        return;
    }
    case IR_OP_EXIT:
        in = put(e, H_EXIT);
        in->imm = op->aux;
        return;
    default: abort(); /* the verifier rejects unknown opcodes */
    }
}

static void emit_all(Emitter *e)
{
    const IrFunc *f = e->f;
    e->n = e->ncalls = e->nmap = 0;
    for (unsigned i = 0; i < f->nops; i++) {
        const IrOp *op = &f->ops[i];
        if (op->opc == IR_OP_LABEL) {
            if (!e->code)
                e->label_pos[op->aux] = e->n;
            continue;
        }
        if (op->opc == IR_OP_INSN_START) {
            if (e->map)
                e->map[e->nmap] = (VsInsnMap){ .first_op = e->n, .pc = f->pcs[op->aux] };
            e->nmap++;
            continue;
        }
        emit_op(e, op);
    }
}

bool interp_size(const IrFunc *f, unsigned *ninsn, unsigned *ncalls, unsigned *nmap)
{
    pthread_once(&handlers_once, init_handlers);
    if (f->ntemps > TEMP_LIMIT || f->overflow)
        return false;
    Emitter e = { .f = f };
    e.label_pos = calloc(f->nlabels ? f->nlabels : 1, sizeof(uint32_t));
    if (!e.label_pos)
        return false;
    emit_all(&e);
    free(e.label_pos);
    *ninsn = e.n;
    *ncalls = e.ncalls;
    *nmap = e.nmap;
    return true;
}

void interp_compile(const IrFunc *f, InterpInsn *code, InterpCall *calls, void *insn_map,
                    unsigned *nmap_out)
{
    pthread_once(&handlers_once, init_handlers);
    Emitter e = { .f = f };
    e.label_pos = calloc(f->nlabels ? f->nlabels : 1, sizeof(uint32_t));
    if (!e.label_pos)
        abort();
    emit_all(&e); /* pass 1: label positions */
    e.code = code;
    e.calls = calls;
    e.map = insn_map;
    emit_all(&e);
    free(e.label_pos);
    *nmap_out = e.nmap;
}
