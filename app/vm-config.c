/* SPDX-License-Identifier: MIT */
#include "vm-config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "efi-vars.h"
#include "vessel-store.h"
#include "vessel-vm.h"

static const char *nonempty(const char *s)
{
    return s && s[0] ? s : NULL;
}

static gboolean parse_mac(const char *text, uint8_t mac[6])
{
    unsigned v[6];
    char extra;
    if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
               &extra) != 6)
        return FALSE;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
    return TRUE;
}

/* arm64 boots an ISO or a disk through UEFI (see vm-config.h). */
static gboolean map_uefi(VesselMachineConfig *mc, GError **error)
{
    const VlVm *r = &mc->record;
    VsConfig *c = &mc->cfg;
    g_autoptr(GError) missing = NULL;
    char *code = NULL, *tmpl = NULL;
    if (!vessel_uefi_find_aavmf(&code, &tmpl, &missing) && !nonempty(r->firmware)) {
        g_propagate_error(error, g_steal_pointer(&missing));
        return FALSE;
    }
    mc->vars_template = tmpl;
    if (nonempty(r->firmware)) {
        g_free(code);
        /* Firmware the VM was made with and that has gone since (the package removed). */
        if (!g_file_test(r->firmware, G_FILE_TEST_EXISTS)) {
            g_set_error(error, VESSEL_VM_ERROR, VS_ERR_IO,
                        _("The VM's UEFI firmware %s is missing. Install it with “sudo apt "
                          "install qemu-efi-aarch64”, or choose other firmware in the VM's "
                          "settings."),
                        r->firmware);
            return FALSE;
        }
        c->firmware = r->firmware;
    } else {
        mc->firmware = code;
        c->firmware = code;
    }
    c->efi_vars = nonempty(r->efi_vars);
    c->efi_vars_template = mc->vars_template;
    c->virtio_transport = VS_VIRTIO_PCI;
    return TRUE;
}

static gboolean build(const VlVm *vm, VesselMachineConfig *mc, GError **error)
{
    memset(mc, 0, sizeof(*mc));
    vessel_vm_record_copy(&mc->record, vm);
    const VlVm *r = &mc->record;
    VsConfig *c = &mc->cfg;
    vs_config_init(c);

    c->arch = vs_arch_from_name(r->arch);
    if (c->arch == VS_ARCH_NONE) {
        g_set_error(error, VESSEL_VM_ERROR, VS_ERR_INVALID,
                    _("Unknown guest architecture “%s”. Choose riscv64, aarch64 or x86_64 in "
                      "the VM's settings."),
                    r->arch);
        return FALSE;
    }
    switch (r->accel) {
    case VL_ACCEL_KVM: c->accel = VS_ACCEL_KVM; break;
    case VL_ACCEL_JIT:
        c->accel = VS_ACCEL_JIT;
        c->jit_threshold = (uint64_t)r->jit_threshold;
        break;
    case VL_ACCEL_INTERPRETER: c->accel = VS_ACCEL_INTERP; break;
    case VL_ACCEL_AUTO:
    default: c->accel = VS_ACCEL_AUTO; break;
    }
    c->ram_size = r->memory_bytes;
    c->smp = (unsigned)r->vcpus;
    switch (r->pin) {
    case VL_PIN_AUTO: c->pin = VS_PIN_AUTO; break;
    case VL_PIN_PERFORMANCE: c->pin = VS_PIN_PERFORMANCE; break;
    case VL_PIN_LIST:
        c->pin = VS_PIN_LIST;
        c->pin_cpus = r->pin_cpus;
        break;
    case VL_PIN_NONE:
    default: c->pin = VS_PIN_NONE; break;
    }

    c->firmware = nonempty(r->firmware);
    switch (r->boot) {
    case VL_BOOT_KERNEL:
    case VL_BOOT_DEMO:
        if (!nonempty(r->kernel)) {
            g_set_error(error, VESSEL_VM_ERROR, VS_ERR_INVALID, "%s",
                        _("This VM boots a Linux kernel but none is set. Choose the kernel "
                          "image in the VM's settings."));
            return FALSE;
        }
        c->kernel = r->kernel;
        c->initrd = nonempty(r->initrd);
        c->cmdline = nonempty(r->cmdline);
        break;
    case VL_BOOT_ISO:
    case VL_BOOT_DISK:
    default:
        /* Booting a disk or an installer needs UEFI firmware (and for arm64 and x86_64 the
         * engine's boards); riscv64's OpenSBI alone cannot load a boot loader from a disk. */
        if (c->arch == VS_ARCH_ARM64 && !map_uefi(mc, error))
            return FALSE;
        if (c->arch == VS_ARCH_RISCV64) {
            g_set_error(error, VESSEL_VM_ERROR, VS_ERR_UNSUPPORTED, "%s",
                        r->boot == VL_BOOT_ISO
                            ? _("Vessel cannot boot riscv64 installer images yet: that needs "
                                "UEFI firmware, which it does not have. Boot a Linux kernel "
                                "and initrd instead (New VM → Linux kernel).")
                            : _("Vessel cannot boot riscv64 disk images yet: that needs UEFI "
                                "firmware, which it does not have. Boot a Linux kernel and "
                                "initrd instead (New VM → Linux kernel)."));
            return FALSE;
        }
        break;
    }

    /* Disks in order, then the removable media (CD/ISO) that hold a medium. */
    size_t ndisks = r->n_drives + r->n_media;
    mc->disks = g_new0(VsDiskConfig, ndisks ? ndisks : 1);
    unsigned nd = 0;
    for (size_t i = 0; i < r->n_drives; i++) {
        VsDiskConfig *d = &mc->disks[nd++];
        d->path = r->drives[i].path;
        d->format = !strcmp(r->drives[i].format, "qcow2") ? VS_DISK_FORMAT_QCOW2
                    : !strcmp(r->drives[i].format, "raw") ? VS_DISK_FORMAT_RAW
                                                          : VS_DISK_FORMAT_AUTO;
        d->readonly = r->drives[i].readonly;
    }
    for (size_t i = 0; i < r->n_media; i++) {
        if (!r->media[i].path[0])
            continue;
        VsDiskConfig *d = &mc->disks[nd++];
        d->path = r->media[i].path;
        d->format = VS_DISK_FORMAT_RAW;
        d->readonly = true;
        d->cdrom = true;
    }
    c->disks = mc->disks;
    c->ndisks = nd;

    size_t nfwd = 0;
    for (size_t i = 0; i < r->n_nics; i++)
        nfwd += r->nics[i].n_forwards;
    mc->nets = g_new0(VsNetConfig, r->n_nics ? r->n_nics : 1);
    mc->forwards = g_new0(VsPortForward, nfwd ? nfwd : 1);
    unsigned nn = 0, nf = 0;
    for (size_t i = 0; i < r->n_nics; i++) {
        const VlNic *n = &r->nics[i];
        if (n->mode == VL_NET_NONE)
            continue;
        VsNetConfig *net = &mc->nets[nn++];
        net->mode = n->mode == VL_NET_BRIDGE ? VS_NET_BRIDGE : VS_NET_USER;
        net->ifname = n->mode == VL_NET_BRIDGE ? n->ifname : NULL;
        if (n->mac[0]) {
            if (!parse_mac(n->mac, net->mac)) {
                g_set_error(error, VESSEL_VM_ERROR, VS_ERR_INVALID,
                            _("The network adapter's MAC address “%s” is malformed."), n->mac);
                return FALSE;
            }
            net->mac_set = true;
        }
        if (n->mode == VL_NET_USER && n->n_forwards) {
            net->forwards = &mc->forwards[nf];
            net->nforwards = (unsigned)n->n_forwards;
            for (size_t j = 0; j < n->n_forwards; j++) {
                VsPortForward *f = &mc->forwards[nf++];
                f->udp = !strcmp(n->forwards[j].proto, "udp");
                f->host_addr = nonempty(n->forwards[j].host_addr);
                f->host_port = (uint16_t)n->forwards[j].host_port;
                f->guest_port = (uint16_t)n->forwards[j].guest_port;
            }
        }
    }
    c->nets = mc->nets;
    c->nnets = nn;

    mc->shares = g_new0(VsShareConfig, r->n_shares ? r->n_shares : 1);
    for (size_t i = 0; i < r->n_shares; i++) {
        mc->shares[i].path = r->shares[i].path;
        mc->shares[i].tag = r->shares[i].tag;
        mc->shares[i].readonly = r->shares[i].readonly;
    }
    c->shares = mc->shares;
    c->nshares = (unsigned)r->n_shares;

    c->rng = true;
    c->display = true;
    c->display_width = (unsigned)r->display.width;
    c->display_height = (unsigned)r->display.height;
    return TRUE;
}

gboolean vessel_machine_config_build(const VlVm *vm, VesselMachineConfig *mc, GError **error)
{
    if (build(vm, mc, error))
        return TRUE;
    vessel_machine_config_clear(mc);
    return FALSE;
}

void vessel_machine_config_clear(VesselMachineConfig *mc)
{
    g_free(mc->disks);
    g_free(mc->nets);
    g_free(mc->forwards);
    g_free(mc->shares);
    g_free(mc->firmware);
    g_free(mc->vars_template);
    vl_vm_clear(&mc->record);
    memset(mc, 0, sizeof(*mc));
}
