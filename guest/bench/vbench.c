/*
 * vbench - small CPU benchmark for Vessel guests.
 *
 * Each subcommand does a fixed amount of work and prints one line:
 *
 *     vbench <name> checksum=<hex> insns=<n or ?> ms=<wall ms>
 *
 * The checksum depends only on the work done, so it is identical on every
 * run, on every emulator and on every architecture (build with
 * -ffp-contract=off so no fused multiply-add changes double rounding).
 * insns is the number of instructions retired according to the RISC-V
 * instret counter (rdinstret), or "?" when the counter is not readable from
 * user mode (the probe catches SIGILL) or the program is not built for RISC-V.
 * Note that QEMU without -icount reports host ticks there, not instructions.
 *
 * Usage: vbench int|sort|fp|mem|branch|all
 *
 * Build (guest): riscv64-linux-gnu-gcc -O2 -static -ffp-contract=off -o vbench vbench.c -lm
 * Build (host):  cc -O2 -ffp-contract=off -o vbench vbench.c -lm
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ helpers */

static uint64_t rotl64(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

/* splitmix64 finaliser: used to fold values into checksums. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --------------------------------------------------- instret (RISC-V only) */

static int have_instret;

#if defined(__riscv)
static sigjmp_buf probe_jmp;

static void probe_sigill(int sig)
{
    (void)sig;
    siglongjmp(probe_jmp, 1);
}

static uint64_t read_instret(void)
{
    uint64_t v;
    __asm__ __volatile__("rdinstret %0" : "=r"(v));
    return v;
}

/* Try rdinstret once with a SIGILL handler installed: the kernel (or the
 * firmware) may not let user mode read the counter. */
static void probe_instret(void)
{
    struct sigaction sa, old_ill, old_segv;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = probe_sigill;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGILL, &sa, &old_ill);
    sigaction(SIGSEGV, &sa, &old_segv);
    if (sigsetjmp(probe_jmp, 1) == 0) {
        volatile uint64_t a = read_instret();
        volatile uint64_t b = read_instret();
        have_instret = (b != a || b != 0);
    } else {
        have_instret = 0;
    }
    sigaction(SIGILL, &old_ill, NULL);
    sigaction(SIGSEGV, &old_segv, NULL);
}
#else
static uint64_t read_instret(void)
{
    return 0;
}

static void probe_instret(void)
{
    have_instret = 0;
}
#endif

/* ---------------------------------------------------------------- int: ALU */

#define INT_ITERS 150000000u

static uint32_t crc_table[256];

static void crc32_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

/* LCG + CRC32 over the LCG bytes + multiply/rotate hash + 64-bit division. */
static uint64_t bench_int(void)
{
    uint64_t lcg = UINT64_C(0x0123456789abcdef);
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    uint64_t q = 0;
    uint32_t crc = 0xffffffffu;

    crc32_init();
    for (uint32_t i = 0; i < INT_ITERS; i++) {
        lcg = lcg * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
        uint32_t w = (uint32_t)(lcg >> 32);
        crc = crc_table[(crc ^ w) & 0xff] ^ (crc >> 8);
        crc = crc_table[(crc ^ (w >> 8)) & 0xff] ^ (crc >> 8);
        h = rotl64(h ^ w, 27) * UINT64_C(0x100000001b3);
        if ((i & 7) == 0)
            q += lcg / (uint64_t)((w & 0xfffffu) | 1u);
    }
    return mix64(h ^ ((uint64_t)~crc << 32) ^ q);
}

/* ------------------------------------------------------- sort: quicksort */

#define SORT_N      (1u << 20) /* 1,048,576 ints ... */
#define SORT_ROUNDS 7          /* ... sorted this many times, fresh data each time */

static void insertion_sort(int32_t *a, long n)
{
    for (long i = 1; i < n; i++) {
        int32_t v = a[i];
        long j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

/* Own quicksort (median of three, Hoare partition, recurse on the smaller
 * side) so the amount of work does not depend on the libc's qsort. */
static void quicksort(int32_t *a, long n)
{
    while (n > 16) {
        long m = n / 2;
        int32_t x = a[0], y = a[m], z = a[n - 1], p;
        if (x < y)
            p = (y < z) ? y : (x < z ? z : x);
        else
            p = (x < z) ? x : (y < z ? z : y);
        long i = -1, j = n;
        for (;;) {
            do
                i++;
            while (a[i] < p);
            do
                j--;
            while (a[j] > p);
            if (i >= j)
                break;
            int32_t t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        long left = j + 1; /* a[0..j] <= p <= a[j+1..n-1] */
        if (left < n - left) {
            quicksort(a, left);
            a += left;
            n -= left;
        } else {
            quicksort(a + left, n - left);
            n = left;
        }
    }
    insertion_sort(a, n);
}

static uint64_t bench_sort(void)
{
    int32_t *a = malloc(SORT_N * sizeof *a);
    if (!a) {
        perror("vbench: malloc");
        exit(1);
    }
    uint64_t s = UINT64_C(88172645463325252), h = 0;
    for (int round = 0; round < SORT_ROUNDS; round++) {
        for (uint32_t i = 0; i < SORT_N; i++)
            a[i] = (int32_t)(uint32_t)xorshift64(&s);
        quicksort(a, SORT_N);
        for (uint32_t i = 0; i < SORT_N; i++) {
            if (i && a[i - 1] > a[i]) {
                fprintf(stderr, "vbench: sort: result not sorted at %u\n", i);
                exit(1);
            }
            h = rotl64(h, 5) ^ (uint32_t)a[i];
            h *= UINT64_C(0x9e3779b97f4a7c15);
        }
    }
    free(a);
    return mix64(h);
}

/* ----------------------------------------------------- fp: n-body (double) */

#define FP_STEPS 600000

struct body {
    double x, y, z, vx, vy, vz, m;
};

static uint64_t dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double energy(const struct body *b, int n)
{
    double e = 0.0;
    for (int i = 0; i < n; i++) {
        e += 0.5 * b[i].m * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
        for (int j = i + 1; j < n; j++) {
            double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
            e -= b[i].m * b[j].m / sqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    return e;
}

/* The classic 5-body (Sun + Jovian planets) simulation. */
static uint64_t bench_fp(void)
{
    const double PI = 3.141592653589793;
    const double SOLAR_MASS = 4 * PI * PI;
    const double DPY = 365.24;
    struct body b[5] = {
        { 0, 0, 0, 0, 0, 0, SOLAR_MASS },
        { 4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
          1.66007664274403694e-03 * DPY, 7.69901118419740425e-03 * DPY,
          -6.90460016972063023e-05 * DPY, 9.54791938424326609e-04 * SOLAR_MASS },
        { 8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
          -2.76742510726862411e-03 * DPY, 4.99852801234917238e-03 * DPY,
          2.30417297573763929e-05 * DPY, 2.85885980666130812e-04 * SOLAR_MASS },
        { 1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
          2.96460137564761618e-03 * DPY, 2.37847173959480950e-03 * DPY,
          -2.96589568540237556e-05 * DPY, 4.36624404335156298e-05 * SOLAR_MASS },
        { 1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
          2.68067772490389322e-03 * DPY, 1.62824170038242295e-03 * DPY,
          -9.51592254519715870e-05 * DPY, 5.15138902046611451e-05 * SOLAR_MASS },
    };
    const int n = 5;
    const double dt = 0.01;

    /* offset momentum */
    double px = 0, py = 0, pz = 0;
    for (int i = 0; i < n; i++) {
        px += b[i].vx * b[i].m;
        py += b[i].vy * b[i].m;
        pz += b[i].vz * b[i].m;
    }
    b[0].vx = -px / SOLAR_MASS;
    b[0].vy = -py / SOLAR_MASS;
    b[0].vz = -pz / SOLAR_MASS;

    double e0 = energy(b, n);
    for (int s = 0; s < FP_STEPS; s++) {
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
                double d2 = dx * dx + dy * dy + dz * dz;
                double mag = dt / (d2 * sqrt(d2));
                b[i].vx -= dx * b[j].m * mag;
                b[i].vy -= dy * b[j].m * mag;
                b[i].vz -= dz * b[j].m * mag;
                b[j].vx += dx * b[i].m * mag;
                b[j].vy += dy * b[i].m * mag;
                b[j].vz += dz * b[i].m * mag;
            }
        }
        for (int i = 0; i < n; i++) {
            b[i].x += dt * b[i].vx;
            b[i].y += dt * b[i].vy;
            b[i].z += dt * b[i].vz;
        }
    }
    double e1 = energy(b, n);

    uint64_t h = mix64(dbits(e0)) ^ rotl64(mix64(dbits(e1)), 1);
    for (int i = 0; i < n; i++)
        h = mix64(h ^ dbits(b[i].x) ^ rotl64(dbits(b[i].y), 21) ^ rotl64(dbits(b[i].z), 42));
    return h;
}

/* ------------------------------------- mem: pointer chasing over 64 MiB */

#define MEM_BYTES (64u << 20)
#define MEM_N     (MEM_BYTES / sizeof(uint64_t)) /* 8 Mi entries */
#define MEM_STEPS 2500000u

/* Every entry holds the index of the next one: next[i] = (A*i + C) mod N
 * with N a power of two, C odd and A = 1 mod 4 is a single cycle through all
 * N entries (Hull-Dobell) whose consecutive elements are scattered over the
 * whole 64 MiB. Setting it up is a cheap sequential pass; following it is a
 * chain of dependent loads, each landing on a different page. */
static uint64_t bench_mem(void)
{
    const uint64_t A = UINT64_C(0x5851f42d4c957f2d), C = UINT64_C(0x14057b7ef767814f);
    uint64_t *next = malloc(MEM_BYTES);
    if (!next) {
        perror("vbench: malloc 64 MiB");
        exit(1);
    }
    for (uint64_t i = 0; i < MEM_N; i++)
        next[i] = (A * i + C) & (MEM_N - 1);
    uint64_t p = 0, h = 0;
    for (uint32_t k = 0; k < MEM_STEPS; k++) {
        p = next[p];
        h += p ^ k;
    }
    free(next);
    return mix64(h ^ (p << 32));
}

/* --------------------------------------- branch: bytecode interpreter */

#define BRANCH_LIMIT 60000 /* Collatz trajectories of 1..BRANCH_LIMIT-1 */

enum op {
    OP_MOV,  /* r[a] = r[b] */
    OP_LI,   /* r[a] = c */
    OP_ADD,  /* r[a] = r[a] + r[b] */
    OP_ADDI, /* r[a] = r[a] + c */
    OP_MULI, /* r[a] = r[a] * c */
    OP_ANDI, /* r[a] = r[a] & c */
    OP_SHRI, /* r[a] = r[a] >> c */
    OP_XOR,  /* r[a] = r[a] ^ r[b] */
    OP_ROLI, /* r[a] = rotl(r[a], c) */
    OP_JMP,  /* pc = c */
    OP_JZ,   /* if r[a] == 0: pc = c */
    OP_JEQI, /* if r[a] == b: pc = c */
    OP_JLT,  /* if r[a] < r[b]: pc = c */
    OP_HALT,
};

struct insn {
    uint8_t op, a;
    int32_t b;
    int64_t c;
};

/* The interpreted program: for n in 1..limit-1 count the Collatz steps of n
 * (data-dependent odd/even branches) and fold them into a hash.
 * Registers: r0 = n, r1 = limit, r2 = steps, r3 = x, r4 = scratch, r5 = hash. */
static struct insn prog[32];
static int prog_len;

static void emit(enum op op, int a, int32_t b, int64_t c)
{
    prog[prog_len].op = (uint8_t)op;
    prog[prog_len].a = (uint8_t)a;
    prog[prog_len].b = b;
    prog[prog_len].c = c;
    prog_len++;
}

static void build_prog(void)
{
    prog_len = 0;
    emit(OP_LI, 0, 0, 1);            /* 0: n = 1 */
    emit(OP_LI, 1, 0, BRANCH_LIMIT); /* 1: limit */
    emit(OP_LI, 2, 0, 0);            /* 2: steps = 0 */
    emit(OP_LI, 5, 0, 0);            /* 3: hash = 0 */
    emit(OP_MOV, 3, 0, 0);           /* 4: outer: x = n */
    emit(OP_JEQI, 3, 1, 15);         /* 5: inner: if x == 1 goto next */
    emit(OP_MOV, 4, 3, 0);           /* 6: t = x */
    emit(OP_ANDI, 4, 0, 1);          /* 7: t &= 1 */
    emit(OP_JZ, 4, 0, 12);           /* 8: if even goto even */
    emit(OP_MULI, 3, 0, 3);          /* 9: x *= 3 */
    emit(OP_ADDI, 3, 0, 1);          /* 10: x += 1 */
    emit(OP_JMP, 0, 0, 13);          /* 11: goto cont */
    emit(OP_SHRI, 3, 0, 1);          /* 12: even: x >>= 1 */
    emit(OP_ADDI, 2, 0, 1);          /* 13: cont: steps++ */
    emit(OP_JMP, 0, 0, 5);           /* 14: goto inner */
    emit(OP_XOR, 5, 2, 0);           /* 15: next: hash ^= steps */
    emit(OP_ROLI, 5, 0, 7);          /* 16: hash = rotl(hash, 7) */
    emit(OP_ADDI, 0, 0, 1);          /* 17: n++ */
    emit(OP_JLT, 0, 1, 4);           /* 18: if n < limit goto outer */
    emit(OP_HALT, 0, 0, 0);          /* 19 */
}

static uint64_t run_vm(const struct insn *code, uint64_t *r, uint64_t *executed)
{
    uint64_t pc = 0, count = 0;
    for (;;) {
        const struct insn *in = &code[pc++];
        count++;
        switch (in->op) {
        case OP_MOV: r[in->a] = r[in->b]; break;
        case OP_LI: r[in->a] = (uint64_t)in->c; break;
        case OP_ADD: r[in->a] += r[in->b]; break;
        case OP_ADDI: r[in->a] += (uint64_t)in->c; break;
        case OP_MULI: r[in->a] *= (uint64_t)in->c; break;
        case OP_ANDI: r[in->a] &= (uint64_t)in->c; break;
        case OP_SHRI: r[in->a] >>= in->c; break;
        case OP_XOR: r[in->a] ^= r[in->b]; break;
        case OP_ROLI: r[in->a] = rotl64(r[in->a], (unsigned)in->c); break;
        case OP_JMP: pc = (uint64_t)in->c; break;
        case OP_JZ:
            if (r[in->a] == 0)
                pc = (uint64_t)in->c;
            break;
        case OP_JEQI:
            if (r[in->a] == (uint64_t)in->b)
                pc = (uint64_t)in->c;
            break;
        case OP_JLT:
            if (r[in->a] < r[in->b])
                pc = (uint64_t)in->c;
            break;
        case OP_HALT: *executed = count; return r[5];
        default:
            fprintf(stderr, "vbench: branch: bad opcode %u at %" PRIu64 "\n", in->op, pc - 1);
            exit(1);
        }
    }
}

static uint64_t bench_branch(void)
{
    uint64_t r[8] = { 0 }, executed = 0;
    build_prog();
    uint64_t hash = run_vm(prog, r, &executed);
    return mix64(hash ^ rotl64(r[2], 32) ^ executed);
}

/* ------------------------------------------------------------------- main */

struct bench {
    const char *name;
    uint64_t (*fn)(void);
};

static const struct bench benches[] = {
    { "int", bench_int }, { "sort", bench_sort },     { "fp", bench_fp },
    { "mem", bench_mem }, { "branch", bench_branch },
};
#define NBENCH (sizeof benches / sizeof benches[0])

static void run(const struct bench *b)
{
    uint64_t t0 = now_ns();
    uint64_t i0 = have_instret ? read_instret() : 0;
    uint64_t sum = b->fn();
    uint64_t i1 = have_instret ? read_instret() : 0;
    uint64_t t1 = now_ns();
    char insns[32];
    if (have_instret)
        snprintf(insns, sizeof insns, "%" PRIu64, i1 - i0);
    else
        snprintf(insns, sizeof insns, "?");
    printf("vbench %s checksum=%016" PRIx64 " insns=%s ms=%" PRIu64 "\n", b->name, sum, insns,
           (t1 - t0 + 500000) / 1000000);
    fflush(stdout);
}

static int usage(FILE *f)
{
    fprintf(f, "usage: vbench int|sort|fp|mem|branch|all\n");
    return f == stderr ? 2 : 0;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return usage(stderr);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
        return usage(stdout);
    probe_instret();
    if (!strcmp(argv[1], "all")) {
        for (size_t i = 0; i < NBENCH; i++)
            run(&benches[i]);
        return 0;
    }
    for (size_t i = 0; i < NBENCH; i++) {
        if (!strcmp(argv[1], benches[i].name)) {
            run(&benches[i]);
            return 0;
        }
    }
    fprintf(stderr, "vbench: unknown test '%s'\n", argv[1]);
    return usage(stderr);
}
