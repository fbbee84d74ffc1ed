/* SPDX-License-Identifier: MIT */
/* Several vCPUs: each checks its APIC ID (CPUID leaf 1, filtered by the VMM) and checks in;
 * vCPU 0 waits for all of them. */
#include "guest.h"

static volatile unsigned lock, arrived;

void guest_irq(unsigned vector)
{
    (void)vector;
}

static void take(void)
{
    while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
        pause();
}

static void give(void)
{
    __atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
}

void guest_main(uint64_t index, uint64_t ncpus)
{
    uint32_t r[4];
    cpuid(1, 0, r);
    unsigned apic_id = r[1] >> 24, logical = (r[1] >> 16) & 0xff;
    take();
    puts_uart("cpu ");
    put_dec(index);
    puts_uart(" of ");
    put_dec(ncpus);
    puts_uart(apic_id == index ? ": apic id ok" : ": FAIL apic id ");
    if (apic_id != index)
        put_dec(apic_id);
    puts_uart(logical == ncpus ? ", count ok\n" : ", FAIL count\n");
    __atomic_fetch_add(&arrived, 1, __ATOMIC_RELEASE);
    give();
    if (index != 0)
        return;
    for (unsigned long spin = 0; __atomic_load_n(&arrived, __ATOMIC_ACQUIRE) < ncpus; spin++) {
        if (spin > 4000000000ul) {
            puts_uart("FAIL: not every vCPU arrived\n");
            return;
        }
        pause();
    }
    take();
    puts_uart("all ");
    put_dec(ncpus);
    puts_uart(" vCPUs up\n");
    give();
}
