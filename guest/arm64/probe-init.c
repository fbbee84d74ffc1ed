/* SPDX-License-Identifier: MIT */
/*
 * /init of the arm64 probe initramfs (tools/guest-assets --arch arm64): proves that the
 * Debian kernel reached user space on Vessel. It uses only integer instructions (Vessel's
 * arm64 frontend has no FP/SIMD yet, so Debian's busybox cannot run), makes a few system
 * calls, prints what they return and powers the machine off (PSCI SYSTEM_OFF).
 * Built with aarch64-linux-gnu-gcc -nostdlib -ffreestanding -mgeneral-regs-only -static.
 */
#include <stddef.h>
#include <stdint.h>

static long sys(long nr, long a, long b, long c, long d)
{
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
    return x0;
}

enum { SYS_write = 64, SYS_reboot = 142, SYS_uname = 160, SYS_getpid = 172 };

static size_t len(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static void out(const char *s)
{
    sys(SYS_write, 1, (long)s, (long)len(s), 0);
}

static void out_dec(unsigned long v)
{
    char buf[24];
    int i = 23;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v && i > 0);
    out(buf + i);
}

struct utsname_ {
    char sysname[65], nodename[65], release[65], version[65], machine[65], domain[65];
};

void _start(void)
{
    static struct utsname_ u;
    out("VESSEL-ARM64-INIT-OK pid ");
    out_dec((unsigned long)sys(SYS_getpid, 0, 0, 0, 0));
    if (sys(SYS_uname, (long)&u, 0, 0, 0) == 0) {
        out(" machine ");
        out(u.machine);
    }
    out("\n");
    /* reboot(LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_POWER_OFF) */
    sys(SYS_reboot, (long)0xfee1dead, 672274793, 0x4321fedc, 0);
    for (;;)
        ;
}
