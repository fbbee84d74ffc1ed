/* SPDX-License-Identifier: MIT */
/*
 * VesselDisplay: the guest's screen (scanout 0 of the VM's virtio-gpu) and its keyboard,
 * tablet and wheel.
 *
 * Drawing: a GtkGLArea with one texture of the scanout, updated with the changed
 * rectangles only, scaled to fit with the aspect ratio kept (letterboxed, centred; whole
 * multiples when the window is larger, so the image stays sharp). Without GL (or with
 * VESSEL_DISPLAY_GL=0 in the environment) the same image is drawn as a GdkTexture by
 * the widget's snapshot.
 *
 * Input: clicking the display grabs the keyboard; while grabbed every key goes to the
 * guest (the window's and the application's shortcuts are switched off), and pressing
 * the left Ctrl and Alt keys together releases it. Keys still held when the grab ends are
 * released in the guest.
 *
 * Properties (read-only): "vm" (VesselVm), "renderer" ("gl" or "software"), "frames"
 * (guint64: updates drawn), "grabbed" (boolean), "has-image" (boolean: a scanout is on).
 */
#ifndef VESSEL_DISPLAY_H
#define VESSEL_DISPLAY_H

#include <gtk/gtk.h>

#include "vessel-vm.h"

G_BEGIN_DECLS

#define VESSEL_TYPE_DISPLAY (vessel_display_get_type())
G_DECLARE_FINAL_TYPE(VesselDisplay, vessel_display, VESSEL, DISPLAY, GtkWidget)

GtkWidget *vessel_display_new(void);
void vessel_display_set_vm(VesselDisplay *self, VesselVm *vm);
VesselVm *vessel_display_get_vm(VesselDisplay *self);

const char *vessel_display_get_renderer(VesselDisplay *self);
guint64 vessel_display_get_frames(VesselDisplay *self);
gboolean vessel_display_get_has_image(VesselDisplay *self);

gboolean vessel_display_get_grabbed(VesselDisplay *self);
void vessel_display_grab(VesselDisplay *self);
void vessel_display_ungrab(VesselDisplay *self);

/* A Linux evdev key event for the guest, through the same path as the keyboard (the key
 * is tracked, so it is released when the grab ends). */
void vessel_display_send_key(VesselDisplay *self, guint evdev_code, gboolean pressed);
/* Ctrl+Alt+Delete, which the host would not let through. */
void vessel_display_send_ctrl_alt_del(VesselDisplay *self);

/* The image's place in the widget (logical pixels), for a widget of width x height at the
 * given scale factor showing a guest_w x guest_h scanout. Exposed for tests. */
void vessel_display_letterbox(int width, int height, int scale, guint guest_w, guint guest_h,
                              graphene_rect_t *out);

G_END_DECLS

#endif
