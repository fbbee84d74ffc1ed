/* SPDX-License-Identifier: MIT */
/* Constants shared by crt.S and the C runtime (isa.h). */
#ifndef ISA_ASM_H
#define ISA_ASM_H

/* struct trap_frame offsets */
#define TF_EPC    (32 * 8)
#define TF_CAUSE  (33 * 8)
#define TF_TVAL   (34 * 8)
#define TF_STATUS (35 * 8)
#define TF_VEC    (36 * 8)
#define TF_LEVEL  (37 * 8)
#define TF_SIZE   (38 * 8)

/* a7 value of the ecall that ends run_in_mode() */
#define MODE_RETURN_MAGIC 0x7e57

#define CLINT_MTIME_ADDR  0x200bff8

#endif
