/* SPDX-License-Identifier: MIT */
/* Board lookup by guest architecture. */
#include "boards/boards.h"

#include <stddef.h>

const BoardOps *board_find(VsArch arch)
{
    switch (arch) {
    case VS_ARCH_RISCV64: return &rv_virt_board_ops;
    case VS_ARCH_ARM64: return &a64_virt_board_ops;
    case VS_ARCH_X86_64: return &x86_microvm_board_ops;
    default: return NULL;
    }
}
