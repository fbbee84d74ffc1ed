/* SPDX-License-Identifier: MIT */
/*
 * The x86-64 emitter against an independent decoder: every encoding in the table below
 * is emitted into one buffer, the buffer is disassembled by binutils' objdump, and each
 * decoded instruction (its length and its Intel-syntax text) must match what the table
 * expects. Skips (77) when objdump is not installed.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jit/x86-emit.h"

#define MAXI 256

static XBuf xb;
static uint8_t mem[16384];
static size_t starts[MAXI];
static char expect[MAXI][96];
static unsigned n;
static int fails;

/* Record the instruction just emitted (from `start`) with its expected disassembly. */
static void rec(size_t start, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rec(size_t start, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(expect[n], sizeof(expect[n]), fmt, ap);
    va_end(ap);
    starts[n++] = start;
}

#define E(call, ...)            \
    do {                        \
        size_t s_ = x_pos(&xb); \
        call;                   \
        rec(s_, __VA_ARGS__);   \
    } while (0)

static void build(void)
{
    x_init(&xb, mem, sizeof(mem));
    /* ALU */
    E(x_alu_rr(&xb, X_ADD, true, X_RAX, X_RBX), "add rax,rbx");
    E(x_alu_rr(&xb, X_SUB, false, X_R12, X_RSI), "sub r12d,esi");
    E(x_alu_rr(&xb, X_XOR, true, X_R15, X_R8), "xor r15,r8");
    E(x_alu_rr(&xb, X_CMP, true, X_RSP, X_R13), "cmp rsp,r13");
    E(x_alu_ri(&xb, X_SUB, false, X_R12, 5), "sub r12d,0x5");
    E(x_alu_ri(&xb, X_AND, true, X_RDX, 0x1ffe0), "and rdx,0x1ffe0");
    E(x_alu_ri(&xb, X_AND, true, X_RCX, -4096), "and rcx,0xfffffffffffff000");
    E(x_alu_ri(&xb, X_OR, true, X_R9, -1), "or r9,0xffffffffffffffff");
    E(x_alu_ri(&xb, X_CMP, false, X_RAX, 0x7fffffff), "cmp eax,0x7fffffff");
    E(x_alu_rm(&xb, X_CMP, true, X_RCX, X_RDX, 0x20008), "cmp rcx,QWORD PTR [rdx+0x20008]");
    E(x_alu_rm(&xb, X_ADD, true, X_RDX, X_RBP, 8), "add rdx,QWORD PTR [rbp+0x8]");
    E(x_alu_rm(&xb, X_ADD, true, X_RAX, X_R13, 0), "add rax,QWORD PTR [r13+0x0]");
    E(x_alu_rm(&xb, X_XOR, false, X_R10, X_R12, -128), "xor r10d,DWORD PTR [r12-0x80]");
    E(x_alu_mi(&xb, X_ADD, true, X_RSP, 8, 7), "add QWORD PTR [rsp+0x8],0x7");
    E(x_alu_mi(&xb, X_CMP, false, X_RBX, 0x1000, 0x12345), "cmp DWORD PTR [rbx+0x1000],0x12345");
    E(x_test_rr(&xb, true, X_RBX, X_RBX), "test rbx,rbx");
    E(x_test_rr(&xb, false, X_R9, X_RAX), "test r9d,eax");
    E(x_test_ri(&xb, false, X_R9, 0x100), "test r9d,0x100");
    E(x_test_ri(&xb, true, X_RAX, -2), "test rax,0xfffffffffffffffe");
    /* shifts */
    E(x_shift_ri(&xb, X_SHR, true, X_RDX, 7), "shr rdx,0x7");
    E(x_shift_ri(&xb, X_SAR, false, X_RBX, 1), "sar ebx,1");
    E(x_shift_ri(&xb, X_SHL, true, X_R14, 63), "shl r14,0x3f");
    E(x_shift_ri(&xb, X_ROR, false, X_RDI, 3), "ror edi,0x3");
    E(x_shift_rcl(&xb, X_ROL, true, X_R9), "rol r9,cl");
    E(x_shift_rcl(&xb, X_SHR, false, X_RSI), "shr esi,cl");
    /* unary, multiply, divide */
    E(x_unary(&xb, X_NOT, true, X_RCX), "not rcx");
    E(x_unary(&xb, X_NEG, false, X_R10), "neg r10d");
    E(x_unary(&xb, X_MUL, true, X_RBX), "mul rbx");
    E(x_unary(&xb, X_IMUL1, false, X_R11), "imul r11d");
    E(x_unary(&xb, X_DIV, true, X_R12), "div r12");
    E(x_unary(&xb, X_IDIV, false, X_RSI), "idiv esi");
    E(x_imul_rr(&xb, true, X_RAX, X_R13), "imul rax,r13");
    E(x_imul_rri(&xb, false, X_R9, X_RSI, 100), "imul r9d,esi,0x64");
    E(x_imul_rri(&xb, true, X_RAX, X_RBX, 0x12345), "imul rax,rbx,0x12345");
    E(x_cqo(&xb, true), "cqo");
    E(x_cqo(&xb, false), "cdq");
    /* moves */
    E(x_mov_rr(&xb, true, X_R8, X_RDI), "mov r8,rdi");
    E(x_mov_rr(&xb, false, X_RAX, X_R15), "mov eax,r15d");
    E(x_mov_ri(&xb, X_RAX, 0), "xor eax,eax");
    E(x_mov_ri(&xb, X_R11, 0x80000000u), "mov r11d,0x80000000");
    E(x_mov_ri(&xb, X_RCX, ~0ull), "mov rcx,0xffffffffffffffff");
    E(x_mov_ri(&xb, X_R14, 0x123456789abcdef0ull), "movabs r14,0x123456789abcdef0");
    E(x_load(&xb, 8, X_RAX, X_RSP, X_NOREG, 1, 16), "mov rax,QWORD PTR [rsp+0x10]");
    E(x_load(&xb, 1, X_R9, X_RAX, X_NOREG, 1, 0), "movzx r9d,BYTE PTR [rax]");
    E(x_load(&xb, 2, X_RBX, X_R12, X_NOREG, 1, -4), "movzx ebx,WORD PTR [r12-0x4]");
    E(x_load(&xb, 4, X_R15, X_RBP, X_NOREG, 1, 0x1000), "mov r15d,DWORD PTR [rbp+0x1000]");
    E(x_load(&xb, 8, X_RAX, X_RBX, X_R13, 8, 0x10), "mov rax,QWORD PTR [rbx+r13*8+0x10]");
    E(x_load(&xb, 8, X_RDX, X_RBP, X_RCX, 2, 0), "mov rdx,QWORD PTR [rbp+rcx*2+0x0]");
    E(x_load_sx(&xb, 1, true, X_RAX, X_RSI, X_NOREG, 1, 0), "movsx rax,BYTE PTR [rsi]");
    E(x_load_sx(&xb, 2, false, X_R8, X_RAX, X_NOREG, 1, 2), "movsx r8d,WORD PTR [rax+0x2]");
    E(x_load_sx(&xb, 4, true, X_RCX, X_RAX, X_NOREG, 1, 0), "movsxd rcx,DWORD PTR [rax]");
    E(x_store(&xb, 1, X_RAX, X_NOREG, 1, 0, X_RSI), "mov BYTE PTR [rax],sil");
    E(x_store(&xb, 1, X_RAX, X_NOREG, 1, 0, X_RBX), "mov BYTE PTR [rax],bl");
    E(x_store(&xb, 2, X_RAX, X_NOREG, 1, 0, X_R10), "mov WORD PTR [rax],r10w");
    E(x_store(&xb, 4, X_R12, X_NOREG, 1, 4, X_RDI), "mov DWORD PTR [r12+0x4],edi");
    E(x_store(&xb, 8, X_RBP, X_NOREG, 1, 0x800, X_RBX), "mov QWORD PTR [rbp+0x800],rbx");
    E(x_store_imm(&xb, 4, X_RAX, 0, -1), "mov DWORD PTR [rax],0xffffffff");
    E(x_store_imm(&xb, 8, X_RAX, 0, -2), "mov QWORD PTR [rax],0xfffffffffffffffe");
    E(x_store_imm(&xb, 1, X_RAX, 0, 0x7f), "mov BYTE PTR [rax],0x7f");
    E(x_store_imm(&xb, 2, X_R8, 2, 0x1234), "mov WORD PTR [r8+0x2],0x1234");
    E(x_lea(&xb, true, X_RAX, X_R12, X_NOREG, 1, -8), "lea rax,[r12-0x8]");
    E(x_lea(&xb, true, X_R9, X_RAX, X_RBX, 4, 0x100), "lea r9,[rax+rbx*4+0x100]");
    E(x_movzx_rr(&xb, 1, X_RAX, X_RSI), "movzx eax,sil");
    E(x_movzx_rr(&xb, 2, X_R8, X_RBX), "movzx r8d,bx");
    E(x_movsx_rr(&xb, 1, true, X_RAX, X_RDI), "movsx rax,dil");
    E(x_movsx_rr(&xb, 2, false, X_RCX, X_R12), "movsx ecx,r12w");
    E(x_movsx_rr(&xb, 4, true, X_RDX, X_R9), "movsxd rdx,r9d");
    E(x_setcc(&xb, X_CC_E, X_RAX), "sete al");
    E(x_setcc(&xb, X_CC_L, X_RSI), "setl sil");
    E(x_setcc(&xb, X_CC_A, X_R11), "seta r11b");
    E(x_cmov(&xb, X_CC_NE, true, X_RBX, X_R14), "cmovne rbx,r14");
    E(x_cmov(&xb, X_CC_B, false, X_RCX, X_RAX), "cmovb ecx,eax");
    E(x_cmov(&xb, X_CC_G, true, X_R8, X_R9), "cmovg r8,r9");
    E(x_bswap(&xb, true, X_R12), "bswap r12");
    E(x_bswap(&xb, false, X_RAX), "bswap eax");
    E(x_bsr(&xb, true, X_RCX, X_RBX), "bsr rcx,rbx");
    E(x_bsf(&xb, false, X_RCX, X_R8), "bsf ecx,r8d");
    E(x_popcnt(&xb, true, X_RCX, X_R15), "popcnt rcx,r15");
    E(x_popcnt(&xb, false, X_RAX, X_RDX), "popcnt eax,edx");
    E(x_bt_ri(&xb, true, X_RAX, 63), "bt rax,0x3f");
    /* atomics and fences */
    E(x_xchg_mr(&xb, 8, X_RDX, 0, X_RCX), "xchg QWORD PTR [rdx],rcx");
    E(x_xchg_mr(&xb, 4, X_R9, 8, X_RAX), "xchg DWORD PTR [r9+0x8],eax");
    E(x_lock_xadd(&xb, 4, X_RDX, 0, X_RCX), "lock xadd DWORD PTR [rdx],ecx");
    E(x_lock_xadd(&xb, 8, X_RDX, 0, X_R10), "lock xadd QWORD PTR [rdx],r10");
    E(x_lock_cmpxchg(&xb, 8, X_RDX, 0, X_RCX), "lock cmpxchg QWORD PTR [rdx],rcx");
    E(x_lock_cmpxchg(&xb, 4, X_R13, 0, X_RCX), "lock cmpxchg DWORD PTR [r13+0x0],ecx");
    E(x_mfence(&xb), "mfence");
    /* SSE2 */
    E(x_movq_xr(&xb, 1, X_RAX), "movq xmm1,rax");
    E(x_movq_rx(&xb, X_R9, 2), "movq r9,xmm2");
    E(x_movsd_xm(&xb, 3, X_RBP, 8), "movsd xmm3,QWORD PTR [rbp+0x8]");
    E(x_movsd_mx(&xb, X_RSP, 0, 9), "movsd QWORD PTR [rsp],xmm9");
    E(x_sse_arith(&xb, 0x58, true, 0, 1), "addsd xmm0,xmm1");
    E(x_sse_arith(&xb, 0x5C, true, 2, 3), "subsd xmm2,xmm3");
    E(x_sse_arith(&xb, 0x59, false, 0, 1), "mulss xmm0,xmm1");
    E(x_sse_arith(&xb, 0x5E, false, 8, 15), "divss xmm8,xmm15");
    E(x_sse_arith(&xb, 0x5E, true, 1, 9), "divsd xmm1,xmm9");
    /* stack and control flow */
    E(x_push(&xb, X_RBX), "push rbx");
    E(x_push(&xb, X_R12), "push r12");
    E(x_pop(&xb, X_R15), "pop r15");
    E(x_pop(&xb, X_RBP), "pop rbp");
    E(x_call_r(&xb, X_RAX), "call rax");
    E(x_jmp_r(&xb, X_R11), "jmp r11");
    E(x_ret(&xb), "ret");
    /* jumps: targets are buffer offsets, which objdump prints as addresses */
    size_t back = starts[0];
    E(x_jmp_to(&xb, back), "jmp 0x%zx", back);
    E(x_jcc_to(&xb, X_CC_NE, back), "jne 0x%zx", back);
    size_t near = x_pos(&xb);
    E(x_jcc_to(&xb, X_CC_E, near), "je 0x%zx", near);
    size_t s = x_pos(&xb);
    size_t d1 = x_jmp_label(&xb);
    size_t s2 = x_pos(&xb);
    size_t d2 = x_jcc_label(&xb, X_CC_LE);
    size_t s3 = x_pos(&xb);
    size_t d3 = x_jcc8_label(&xb, X_CC_B);
    size_t s4 = x_pos(&xb);
    size_t d4 = x_jmp8_label(&xb);
    size_t s5 = x_pos(&xb);
    x_lea_rip(&xb, X_RCX, 0);
    size_t target = x_pos(&xb);
    x_patch_rel32(&xb, d1, target);
    x_patch_rel32(&xb, d2, 0x40);
    x_patch_rel8(&xb, d3, target);
    x_patch_rel8(&xb, d4, s5);
    rec(s, "jmp 0x%zx", target);
    rec(s2, "jle 0x%x", 0x40);
    rec(s3, "jb 0x%zx", target);
    rec(s4, "jmp 0x%zx", s5);
    rec(s5, "lea rcx,[rip+0x%llx]", (unsigned long long)(0 - (long long)target));
    E(x_ret(&xb), "ret");
}

/* Collapse whitespace and drop objdump's "# address" comments. */
static void normalize(char *s)
{
    char *hash = strchr(s, '#');
    if (hash)
        *hash = 0;
    char *w = s;
    bool space = false;
    for (char *r = s; *r; r++) {
        if (isspace((unsigned char)*r)) {
            space = w != s;
            continue;
        }
        if (space)
            *w++ = ' ';
        space = false;
        *w++ = *r;
    }
    *w = 0;
}

int main(void)
{
    build();
    if (xb.overflow) {
        printf("FAIL: emitter buffer overflow\n");
        return 1;
    }
    if (system("objdump --version >/dev/null 2>&1") != 0) {
        printf("SKIP: objdump (binutils) not installed\n");
        return 77;
    }
    char path[] = "/tmp/vessel-x86-emit-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, mem, x_pos(&xb)) != (ssize_t)x_pos(&xb)) {
        perror("temporary file");
        return 1;
    }
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "objdump -D -b binary -mi386:x86-64 -M intel --insn-width=16 %s",
             path);
    FILE *p = popen(cmd, "r");
    if (!p) {
        perror("popen");
        return 1;
    }
    char line[512];
    unsigned k = 0;
    while (fgets(line, sizeof(line), p)) {
        unsigned long addr;
        char *tab1 = strchr(line, '\t');
        if (sscanf(line, " %lx:", &addr) != 1 || !tab1 || !strchr(line, ':'))
            continue;
        char *tab2 = strchr(tab1 + 1, '\t');
        if (!tab2)
            continue;
        char *text = tab2 + 1;
        normalize(text);
        if (k >= n) {
            printf("FAIL: extra instruction at 0x%lx: %s\n", addr, text);
            fails++;
            continue;
        }
        if (addr != starts[k]) {
            printf("FAIL: instruction %u (%s) decoded at 0x%lx, emitted at 0x%zx\n", k, expect[k],
                   addr, starts[k]);
            fails++;
            break;
        }
        if (strcmp(text, expect[k]) != 0) {
            printf("FAIL: at 0x%lx expected '%s', objdump decodes '%s'\n", addr, expect[k], text);
            fails++;
        }
        k++;
    }
    pclose(p);
    unlink(path);
    if (k != n) {
        printf("FAIL: objdump decoded %u instructions, %u emitted\n", k, n);
        fails++;
    }
    printf("%u encodings checked against objdump, %d failures\n", n, fails);
    return fails ? 1 : 0;
}
