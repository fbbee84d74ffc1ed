/* SPDX-License-Identifier: MIT */
#include "efi-vars.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vessel-vm.h"

#define COPY_CHUNK (64 * 1024)
/* EFI_FIRMWARE_VOLUME_HEADER: the signature "_FVH" sits at byte 40 (PI spec, vol. 3). */
#define FV_SIGNATURE_OFFSET 40
#define HEADER_BYTES        64

gboolean vessel_uefi_vm_needs_firmware(const VlVm *r)
{
    return g_strcmp0(r->arch, "aarch64") == 0 &&
           (r->boot == VL_BOOT_ISO || r->boot == VL_BOOT_DISK);
}

gboolean vessel_uefi_find_aavmf(char **code, char **vars_template, GError **error)
{
    const char *dir = g_getenv("VESSEL_AAVMF_DIR");
    if (!dir || !*dir)
        dir = VESSEL_AAVMF_DIR;
    g_autofree char *c = g_build_filename(dir, "AAVMF_CODE.fd", NULL);
    g_autofree char *v = g_build_filename(dir, "AAVMF_VARS.fd", NULL);
    const char *missing = !g_file_test(c, G_FILE_TEST_IS_REGULAR)   ? c
                          : !g_file_test(v, G_FILE_TEST_IS_REGULAR) ? v
                                                                    : NULL;
    if (missing) {
        g_set_error(error, VESSEL_VM_ERROR, VS_ERR_UNSUPPORTED,
                    _("arm64 VMs that boot an installer or a disk need UEFI firmware, which is "
                      "not installed (%s is missing). Install it with “sudo apt install "
                      "qemu-efi-aarch64”, then try again."),
                    missing);
        return FALSE;
    }
    if (code)
        *code = g_steal_pointer(&c);
    if (vars_template)
        *vars_template = g_steal_pointer(&v);
    return TRUE;
}

static gboolean all_zero(const guint8 *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return FALSE;
    return TRUE;
}

static gboolean read_full(int fd, guint8 *buf, size_t n, off_t off, size_t *got)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, buf + done, n - done, off + (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return FALSE;
        if (r == 0)
            break;
        done += (size_t)r;
    }
    *got = done;
    return TRUE;
}

static gboolean write_full(int fd, const guint8 *buf, size_t n, off_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(fd, buf + done, n - done, off + (off_t)done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return FALSE;
        done += (size_t)w;
    }
    return TRUE;
}

/* Copy template to path through a temporary file in the same directory. Runs of zeros
 * become holes: Debian's AAVMF_VARS.fd is 64 MiB of zeros the firmware formats itself. */
static gboolean copy_template(const char *path, const char *template, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    if (g_mkdir_with_parents(dir, 0700) != 0) {
        int e = errno;
        g_set_error(error, VESSEL_VM_ERROR, VS_ERR_IO,
                    _("Cannot create the folder %s for the UEFI variable store: %s."), dir,
                    g_strerror(e));
        return FALSE;
    }
    int in = open(template, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        int e = errno;
        g_set_error(error, VESSEL_VM_ERROR, VS_ERR_IO,
                    _("Cannot read the UEFI variable store template %s: %s. Reinstall "
                      "qemu-efi-aarch64."),
                    template, g_strerror(e));
        return FALSE;
    }
    g_autofree char *tmp = g_strconcat(path, ".new-XXXXXX", NULL);
    int out = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0600);
    if (out < 0) {
        int e = errno;
        close(in);
        g_set_error(error, VESSEL_VM_ERROR, VS_ERR_IO,
                    _("Cannot create the UEFI variable store in %s: %s."), dir, g_strerror(e));
        return FALSE;
    }
    g_autofree guint8 *buf = g_malloc(COPY_CHUNK);
    off_t off = 0;
    gboolean ok = TRUE;
    int e = 0;
    for (;;) {
        size_t got;
        if (!read_full(in, buf, COPY_CHUNK, off, &got)) {
            ok = FALSE, e = errno;
            break;
        }
        if (got == 0)
            break;
        if (!all_zero(buf, got) && !write_full(out, buf, got, off)) {
            ok = FALSE, e = errno;
            break;
        }
        off += (off_t)got;
        if (got < COPY_CHUNK)
            break;
    }
    if (ok && (ftruncate(out, off) != 0 || fsync(out) != 0))
        ok = FALSE, e = errno;
    if (close(out) != 0 && ok)
        ok = FALSE, e = errno;
    close(in);
    if (ok && rename(tmp, path) != 0)
        ok = FALSE, e = errno;
    if (!ok) {
        g_unlink(tmp);
        g_set_error(error, VESSEL_VM_ERROR, VS_ERR_IO,
                    _("Cannot write the UEFI variable store %s: %s."), path,
                    g_strerror(e ? e : EIO));
    }
    return ok;
}

/* Why the store at path cannot be used, or NULL when it looks sound. */
static char *damage(const char *path, const struct stat *st, const char *template,
                    const struct stat *tst)
{
    if (st->st_size != tst->st_size)
        /* TRANSLATORS: why a VM's UEFI variable store is damaged; both are byte counts. */
        return g_strdup_printf(_("it is %lld bytes long, the template %lld"),
                               (long long)st->st_size, (long long)tst->st_size);
    guint8 a[HEADER_BYTES], b[HEADER_BYTES];
    size_t na = 0, nb = 0;
    int fa = open(path, O_RDONLY | O_CLOEXEC), fb = open(template, O_RDONLY | O_CLOEXEC);
    gboolean read_ok = fa >= 0 && fb >= 0 && read_full(fa, a, sizeof(a), 0, &na) &&
                       read_full(fb, b, sizeof(b), 0, &nb);
    int e = errno;
    if (fa >= 0)
        close(fa);
    if (fb >= 0)
        close(fb);
    if (!read_ok)
        return g_strdup_printf(_("it cannot be read (%s)"), g_strerror(e));
    /* Untouched (the template's header) or formatted by the firmware (a volume header). */
    if (na == nb && memcmp(a, b, na) == 0)
        return NULL;
    if (na >= FV_SIGNATURE_OFFSET + 4 && memcmp(a + FV_SIGNATURE_OFFSET, "_FVH", 4) == 0)
        return NULL;
    return g_strdup(_("its header is not a UEFI firmware volume"));
}

gboolean vessel_efi_vars_prepare(const char *path, const char *template,
                                 VesselEfiVarsResult *result, GError **error)
{
    struct stat tst, st;
    if (stat(template, &tst) != 0 || !S_ISREG(tst.st_mode)) {
        g_set_error(error, VESSEL_VM_ERROR, VS_ERR_UNSUPPORTED,
                    _("The UEFI variable store template %s is missing. Install it with “sudo "
                      "apt install qemu-efi-aarch64”, then try again."),
                    template);
        return FALSE;
    }
    if (stat(path, &st) != 0) {
        if (errno != ENOENT) {
            int e = errno;
            g_set_error(error, VESSEL_VM_ERROR, VS_ERR_IO,
                        _("Cannot use the UEFI variable store %s: %s."), path, g_strerror(e));
            return FALSE;
        }
        if (!copy_template(path, template, error))
            return FALSE;
        g_message("Created the UEFI variable store %s from %s", path, template);
        if (result)
            *result = VESSEL_EFI_VARS_CREATED;
        return TRUE;
    }
    if (!S_ISREG(st.st_mode)) {
        g_set_error(error, VESSEL_VM_ERROR, VS_ERR_INVALID,
                    _("The UEFI variable store %s is not a file: move it away so Vessel can "
                      "make a new one."),
                    path);
        return FALSE;
    }
    g_autofree char *why = damage(path, &st, template, &tst);
    if (!why) {
        if (result)
            *result = VESSEL_EFI_VARS_KEPT;
        return TRUE;
    }
    /* Keep the damaged file for whoever wants to look at it; the VM starts afresh. */
    g_autofree char *aside = g_strconcat(path, ".corrupt", NULL);
    if (rename(path, aside) != 0) {
        int e = errno;
        g_set_error(error, VESSEL_VM_ERROR, VS_ERR_IO,
                    _("The UEFI variable store %s is damaged (%s) and cannot be moved aside: "
                      "%s."),
                    path, why, g_strerror(e));
        return FALSE;
    }
    if (!copy_template(path, template, error))
        return FALSE;
    g_message("The UEFI variable store %s was damaged (%s): kept it as %s and made a fresh one "
              "from %s; the firmware's boot entries start from scratch",
              path, why, aside, template);
    if (result)
        *result = VESSEL_EFI_VARS_RECREATED;
    return TRUE;
}
