/* SPDX-License-Identifier: MIT */
/* The demo VM: the riscv64 guest that tools/guest-assets builds (kernel with a framebuffer
 * console on virtio-gpu, busybox initramfs, OpenSBI). */
#include <glib/gi18n.h>
#include <stdio.h>

#include "vessel-application.h"

static char *guest_dir(void)
{
    const char *env = g_getenv("VESSEL_GUEST_DIR");
    if (env && env[0])
        return g_build_filename(env, "riscv64", NULL);
    return g_build_filename(g_get_user_cache_dir(), "vessel", "guests", "riscv64", NULL);
}

gboolean vessel_demo_find_assets(char **kernel, char **initrd, char **firmware, GError **error)
{
    g_autofree char *dir = guest_dir();
    g_autofree char *k = g_build_filename(dir, "Image", NULL);
    g_autofree char *i = g_build_filename(dir, "initramfs.cpio.gz", NULL);
    g_autofree char *f = g_build_filename(dir, "fw_jump.bin", NULL);
    const char *files[] = { k, i, f };
    for (size_t n = 0; n < G_N_ELEMENTS(files); n++) {
        if (!g_file_test(files[n], G_FILE_TEST_IS_REGULAR)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                        _("The demo guest is not built: %s is missing. Run tools/guest-assets "
                          "in the Vessel source tree (it builds the riscv64 kernel and "
                          "initramfs), then try again."),
                        files[n]);
            return FALSE;
        }
    }
    if (kernel)
        *kernel = g_steal_pointer(&k);
    if (initrd)
        *initrd = g_steal_pointer(&i);
    if (firmware)
        *firmware = g_steal_pointer(&f);
    return TRUE;
}

gboolean vessel_demo_fill_record(VlVm *vm, GError **error)
{
    g_autofree char *kernel = NULL, *initrd = NULL, *firmware = NULL;
    if (!vessel_demo_find_assets(&kernel, &initrd, &firmware, error))
        return FALSE;
    vl_vm_init(vm);
    snprintf(vm->name, sizeof(vm->name), "%s", _("Demo (riscv64)"));
    snprintf(vm->arch, sizeof(vm->arch), "riscv64");
    snprintf(vm->os_kind, sizeof(vm->os_kind), "linux");
    vm->memory_bytes = 256ull << 20;
    vm->vcpus = 1;
    vm->accel = VL_ACCEL_AUTO;
    vm->pin = VL_PIN_NONE;
    vm->boot = VL_BOOT_DEMO;
    snprintf(vm->kernel, sizeof(vm->kernel), "%s", kernel);
    snprintf(vm->initrd, sizeof(vm->initrd), "%s", initrd);
    snprintf(vm->firmware, sizeof(vm->firmware), "%s", firmware);
    /* The kernel's messages and a shell on the screen (tty0) and on the serial console. */
    snprintf(vm->cmdline, sizeof(vm->cmdline), "console=tty0 console=ttyS0");
    VlNic *nic = vl_vm_add_nic(vm);
    if (!nic) {
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, "out of memory");
        return FALSE;
    }
    nic->mode = VL_NET_USER;
    return TRUE;
}
