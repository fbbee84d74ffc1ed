/* SPDX-License-Identifier: MIT */
/*
 * Runs a QEMU qtest-style access script (readb/readw/readl/readq ADDR, writeb/writew/writel/
 * writeq ADDR VALUE) against Vessel's arm64 virt firmware devices, wired at QEMU virt's
 * addresses: the variable flash (pflash-cfi01) at 0x04000000 backed by a copy of FILE, fw_cfg
 * at 0x09020000 and 16 MiB of RAM at 0x40000000. Prints "OK" for a write and "OK 0x%016x"
 * for a read, as qtest does, so test-firmware-devs-qemu.py can compare the two line by line.
 *
 * usage: dev-script VARS-FILE < script
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/fw-cfg.h"
#include "devices/pflash-cfi01.h"

#define FLASH_BASE 0x04000000ull
#define FLASH_SIZE 0x04000000ull

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: dev-script VARS-FILE < script\n");
        return 2;
    }
    int fd = open(argv[1], O_RDWR);
    uint8_t *storage = malloc(FLASH_SIZE);
    if (fd < 0 || !storage) {
        perror(argv[1]);
        return 2;
    }
    memset(storage, 0xff, FLASH_SIZE);
    if (pread(fd, storage, FLASH_SIZE, 0) < 0) {
        perror(argv[1]);
        return 2;
    }
    PhysMem pm;
    physmem_init(&pm);
    PflashCfi01 flash;
    FwCfg fc;
    if (!pflash_init(&flash, storage, FLASH_SIZE, false, fd) ||
        !physmem_add_mmio(&pm, "flash1", FLASH_BASE, FLASH_SIZE, &pflash_mmio_ops, &flash) ||
        !physmem_add_ram(&pm, "ram", 0x40000000, 16 << 20) || !fw_cfg_init(&fc, &pm) ||
        !physmem_add_mmio(&pm, "fw_cfg", 0x09020000, FW_CFG_MMIO_SIZE, &fw_cfg_mmio_ops, &fc)) {
        fprintf(stderr, "dev-script: setup failed\n");
        return 2;
    }
    char line[256], op[16];
    unsigned long long addr, val;
    while (fgets(line, sizeof(line), stdin)) {
        int n = sscanf(line, "%15s %llx %llx", op, &addr, &val);
        if (n < 2)
            continue;
        unsigned size = op[strlen(op) - 1] == 'b'   ? 1
                        : op[strlen(op) - 1] == 'w' ? 2
                        : op[strlen(op) - 1] == 'l' ? 4
                                                    : 8;
        if (strncmp(op, "read", 4) == 0) {
            uint64_t v = 0;
            if (!physmem_load(&pm, addr, size, &v))
                v = 0;
            printf("OK 0x%016llx\n", (unsigned long long)v);
        } else if (strncmp(op, "write", 5) == 0 && n == 3) {
            physmem_store(&pm, addr, size, val);
            printf("OK\n");
        }
    }
    fw_cfg_destroy(&fc);
    physmem_destroy(&pm);
    free(storage);
    close(fd);
    return 0;
}
