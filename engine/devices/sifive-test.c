/* SPDX-License-Identifier: MIT */
/* SiFive test device: guest power-off, failure report and reset. */
#include "devices/sifive-test.h"

void sifive_test_init(SifiveTest *t, VsMachine *m)
{
    t->m = m;
}

static uint64_t sifive_test_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque;
    (void)offset;
    (void)size;
    return 0;
}

static void sifive_test_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    SifiveTest *t = opaque;

    /* A command needs at least the 16-bit status; wider writes carry the code too. */
    if (offset != 0 || size < 2)
        return;
    uint32_t word = size == 2 ? (uint16_t)value : (uint32_t)value;
    unsigned status = word & 0xffff;
    unsigned code = word >> 16;

    switch (status) {
    case SIFIVE_TEST_PASS:
        if (code)
            vs_machine_request_stop(t->m, VS_STOP_POWEROFF, "guest powered off (code %u)", code);
        else
            vs_machine_request_stop(t->m, VS_STOP_POWEROFF, "guest powered off");
        break;
    case SIFIVE_TEST_FAIL:
        vs_machine_request_stop(t->m, VS_STOP_GUEST_CRASH,
                                "guest reported failure through the test device (code %u)", code);
        break;
    case SIFIVE_TEST_RESET: vs_machine_request_reset(t->m); break;
    default: break;
    }
}

const MmioOps sifive_test_mmio_ops = {
    .read = sifive_test_read,
    .write = sifive_test_write,
};
