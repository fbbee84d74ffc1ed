/* SPDX-License-Identifier: MIT */
/*
 * VesselDisplay (see vessel-display.h).
 *
 * The widget keeps a shadow copy of the scanout (XRGB8888 with the X byte forced to 0xff,
 * so the same bytes are a valid B8G8R8A8 texture on a little-endian host). A
 * "display-update" copies the changed rectangle from the engine into the shadow; the GL
 * path then uploads the union of the rectangles changed since the last frame with one
 * glTexSubImage2D, the software path makes a new GdkMemoryTexture once per frame.
 */
#include "vessel-display.h"

#include <epoxy/gl.h>
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

/* Linux evdev codes (linux/input-event-codes.h) used here. */
#define EV_KEY_LEFTCTRL 29
#define EV_KEY_LEFTALT  56
#define EV_KEY_DELETE   111
#define EV_KEY_COUNT    768

struct _VesselDisplay {
    GtkWidget parent_instance;

    VesselVm *vm;
    gulong resize_id, update_id, state_id;

    /* The guest image. */
    guint32 *shadow;
    guint fb_w, fb_h;

    /* GL renderer (gl_area is NULL in software mode). */
    GtkWidget *gl_area;
    gboolean software;
    gboolean gl_ready;
    gboolean gl_swizzle; /* uploading BGRA as RGBA (GLES without BGRA): swap in the shader */
    GLuint tex, program, vao, vbo;
    GLint u_tex, u_swizzle;
    guint tex_w, tex_h; /* the texture's current size */
    gboolean dirty;
    guint dx0, dy0, dx1, dy1; /* union of the changed rectangles, [x0, x1) x [y0, y1) */

    /* Software renderer. */
    GdkTexture *texture;
    gboolean texture_stale;

    guint64 frames;

    /* Input. */
    GtkWidget *hint;
    gboolean grabbed;
    guint8 pressed[EV_KEY_COUNT / 8];
    GPtrArray *muted; /* shortcut controllers of the toplevel switched off while grabbed */
    gulong active_id;
    GtkWidget *toplevel;
};

G_DEFINE_FINAL_TYPE(VesselDisplay, vessel_display, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_VM, PROP_RENDERER, PROP_FRAMES, PROP_GRABBED, PROP_HAS_IMAGE, N_PROPS };
static GParamSpec *props[N_PROPS];

static VsMachine *machine(VesselDisplay *self)
{
    return self->vm ? vessel_vm_get_machine(self->vm) : NULL;
}

/* ---- Geometry ---- */

void vessel_display_letterbox(int width, int height, int scale, guint guest_w, guint guest_h,
                              graphene_rect_t *out)
{
    if (scale < 1)
        scale = 1;
    if (width <= 0 || height <= 0 || guest_w == 0 || guest_h == 0) {
        graphene_rect_init(out, 0, 0, 0, 0);
        return;
    }
    /* Work in device pixels. At 1:1 or a whole multiple every guest pixel is a whole
     * number of device pixels, which keeps text sharp (HiDPI included): take the whole
     * multiple below the fitting scale when that gives up less than a sixth of the size,
     * otherwise fill the space (smoothed). */
    double dev_w = (double)width * scale, dev_h = (double)height * scale;
    double fit = MIN(dev_w / guest_w, dev_h / guest_h);
    if (fit >= 1.0 && (fit - floor(fit)) / fit < 1.0 / 6)
        fit = floor(fit);
    double w = floor(guest_w * fit), h = floor(guest_h * fit);
    double x = floor((dev_w - w) / 2), y = floor((dev_h - h) / 2);
    graphene_rect_init(out, (float)(x / scale), (float)(y / scale), (float)(w / scale),
                       (float)(h / scale));
}

static void image_rect(VesselDisplay *self, graphene_rect_t *out)
{
    vessel_display_letterbox(
        gtk_widget_get_width(GTK_WIDGET(self)), gtk_widget_get_height(GTK_WIDGET(self)),
        gtk_widget_get_scale_factor(GTK_WIDGET(self)), self->fb_w, self->fb_h, out);
}

/* ---- The guest image ---- */

static void mark_dirty(VesselDisplay *self, guint x, guint y, guint w, guint h)
{
    if (!self->dirty) {
        self->dx0 = x, self->dy0 = y, self->dx1 = x + w, self->dy1 = y + h;
        self->dirty = TRUE;
    } else {
        self->dx0 = MIN(self->dx0, x), self->dy0 = MIN(self->dy0, y);
        self->dx1 = MAX(self->dx1, x + w), self->dy1 = MAX(self->dy1, y + h);
    }
    self->texture_stale = TRUE;
    if (self->gl_area)
        gtk_gl_area_queue_render(GTK_GL_AREA(self->gl_area));
    else
        gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void clear_image(VesselDisplay *self)
{
    gboolean had = self->fb_w != 0;
    g_clear_pointer(&self->shadow, g_free);
    self->fb_w = self->fb_h = 0;
    self->dirty = FALSE;
    g_clear_object(&self->texture);
    if (self->gl_area)
        gtk_gl_area_queue_render(GTK_GL_AREA(self->gl_area));
    gtk_widget_queue_draw(GTK_WIDGET(self));
    if (had)
        g_object_notify_by_pspec(G_OBJECT(self), props[PROP_HAS_IMAGE]);
}

static gboolean read_rect(VesselDisplay *self, guint x, guint y, guint w, guint h)
{
    VsMachine *m = machine(self);
    if (!m || !self->shadow || w == 0 || h == 0)
        return FALSE;
    guint32 *dst = self->shadow + (gsize)y * self->fb_w + x;
    if (!vs_machine_display_read(m, 0, x, y, w, h, dst, (size_t)self->fb_w * 4))
        return FALSE;
    for (guint row = 0; row < h; row++) {
        guint32 *p = dst + (gsize)row * self->fb_w;
        for (guint col = 0; col < w; col++)
            p[col] |= 0xff000000u;
    }
    return TRUE;
}

static void set_size(VesselDisplay *self, guint width, guint height)
{
    if (width == 0 || height == 0) {
        clear_image(self);
        return;
    }
    gboolean had = self->fb_w != 0;
    if (width != self->fb_w || height != self->fb_h) {
        g_free(self->shadow);
        self->shadow = g_malloc0_n((gsize)width * height, 4);
        self->fb_w = width, self->fb_h = height;
        self->dirty = FALSE;
    }
    read_rect(self, 0, 0, width, height);
    mark_dirty(self, 0, 0, width, height);
    if (!had)
        g_object_notify_by_pspec(G_OBJECT(self), props[PROP_HAS_IMAGE]);
}

/* Take the size from the engine (a VM that was already running when it was attached). */
static void sync_size(VesselDisplay *self)
{
    VsMachine *m = machine(self);
    unsigned w = 0, h = 0;
    if (m && vs_machine_display_size(m, 0, &w, &h))
        set_size(self, w, h);
    else
        clear_image(self);
}

static void on_display_resize(VesselVm *vm, guint width, guint height, VesselDisplay *self)
{
    (void)vm;
    set_size(self, width, height);
}

static void on_display_update(VesselVm *vm, guint x, guint y, guint width, guint height,
                              VesselDisplay *self)
{
    (void)vm;
    if (!self->shadow)
        return;
    if ((guint64)x + width > self->fb_w || (guint64)y + height > self->fb_h ||
        !read_rect(self, x, y, width, height)) {
        /* A resize is on its way or already happened: take the whole image again. */
        sync_size(self);
        return;
    }
    mark_dirty(self, x, y, width, height);
}

static void release_keys(VesselDisplay *self);

static void on_vm_state(VesselVm *vm, GParamSpec *pspec, VesselDisplay *self)
{
    (void)pspec;
    if (vessel_vm_get_state(vm) == VESSEL_VM_STOPPED || !machine(self)) {
        vessel_display_ungrab(self);
        memset(self->pressed, 0, sizeof self->pressed);
        clear_image(self);
    } else if (self->fb_w == 0) {
        sync_size(self);
    }
}

/* ---- GL renderer ---- */

static const char *vertex_src = "in vec2 pos;\n"
                                "out vec2 uv;\n"
                                "void main() {\n"
                                "    uv = vec2(pos.x * 0.5 + 0.5, 0.5 - pos.y * 0.5);\n"
                                "    gl_Position = vec4(pos, 0.0, 1.0);\n"
                                "}\n";
static const char *fragment_src = "in vec2 uv;\n"
                                  "out vec4 color;\n"
                                  "uniform sampler2D tex;\n"
                                  "uniform bool swizzle;\n"
                                  "void main() {\n"
                                  "    vec4 c = texture(tex, uv);\n"
                                  "    color = vec4(swizzle ? c.bgr : c.rgb, 1.0);\n"
                                  "}\n";

static GLuint compile_shader(GLenum type, const char *header, const char *src, GError **error)
{
    GLuint shader = glCreateShader(type);
    const char *parts[] = { header, src };
    glShaderSource(shader, 2, parts, NULL);
    glCompileShader(shader);
    GLint ok = 0;
    glGetShaderiv(shader, GL_COMPILE_STATUS, &ok);
    if (!ok) {
        char log[1024] = "";
        glGetShaderInfoLog(shader, sizeof log, NULL, log);
        g_set_error(error, GDK_GL_ERROR, GDK_GL_ERROR_COMPILATION_FAILED, "display shader: %s",
                    log);
        glDeleteShader(shader);
        return 0;
    }
    return shader;
}

static gboolean gl_setup(VesselDisplay *self, GdkGLContext *context, GError **error)
{
    gboolean es = gdk_gl_context_get_use_es(context);
    const char *header = es ? "#version 300 es\nprecision mediump float;\n" : "#version 150\n";
    GLuint vs = compile_shader(GL_VERTEX_SHADER, header, vertex_src, error);
    if (!vs)
        return FALSE;
    GLuint fs = compile_shader(GL_FRAGMENT_SHADER, header, fragment_src, error);
    if (!fs) {
        glDeleteShader(vs);
        return FALSE;
    }
    self->program = glCreateProgram();
    glAttachShader(self->program, vs);
    glAttachShader(self->program, fs);
    glBindAttribLocation(self->program, 0, "pos");
    glLinkProgram(self->program);
    glDeleteShader(vs);
    glDeleteShader(fs);
    GLint ok = 0;
    glGetProgramiv(self->program, GL_LINK_STATUS, &ok);
    if (!ok) {
        char log[1024] = "";
        glGetProgramInfoLog(self->program, sizeof log, NULL, log);
        g_set_error(error, GDK_GL_ERROR, GDK_GL_ERROR_LINK_FAILED, "display shader: %s", log);
        return FALSE;
    }
    self->u_tex = glGetUniformLocation(self->program, "tex");
    self->u_swizzle = glGetUniformLocation(self->program, "swizzle");

    static const GLfloat quad[] = { -1, -1, 1, -1, -1, 1, 1, 1 };
    glGenVertexArrays(1, &self->vao);
    glBindVertexArray(self->vao);
    glGenBuffers(1, &self->vbo);
    glBindBuffer(GL_ARRAY_BUFFER, self->vbo);
    glBufferData(GL_ARRAY_BUFFER, sizeof quad, quad, GL_STATIC_DRAW);
    glEnableVertexAttribArray(0);
    glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, 0, NULL);
    glBindVertexArray(0);

    glGenTextures(1, &self->tex);
    /* Desktop GL takes BGRA uploads; GLES only with the BGRA8888 extension. */
    self->gl_swizzle = es && !epoxy_has_gl_extension("GL_EXT_texture_format_BGRA8888");
    self->tex_w = self->tex_h = 0;
    return TRUE;
}

static void switch_to_software(VesselDisplay *self, const char *why);

static gboolean software_idle(gpointer data)
{
    switch_to_software(data, NULL);
    return G_SOURCE_REMOVE;
}

/* Let GDK choose desktop GL or GLES (GtkGLArea 4.8 asks for desktop GL only); the
 * shaders follow what was chosen. */
static GdkGLContext *on_gl_create_context(GtkGLArea *area, VesselDisplay *self)
{
    (void)self;
    GError *error = NULL;
    GtkNative *native = gtk_widget_get_native(GTK_WIDGET(area));
    GdkGLContext *context = gdk_surface_create_gl_context(gtk_native_get_surface(native), &error);
    if (context) {
        gdk_gl_context_set_allowed_apis(context, GDK_GL_API_GL | GDK_GL_API_GLES);
        if (!gdk_gl_context_realize(context, &error))
            g_clear_object(&context);
    }
    if (!context) {
        gtk_gl_area_set_error(area, error);
        g_error_free(error);
    }
    return context;
}

static void on_gl_realize(GtkGLArea *area, VesselDisplay *self)
{
    gtk_gl_area_make_current(area);
    GError *error = gtk_gl_area_get_error(area) ? g_error_copy(gtk_gl_area_get_error(area)) : NULL;
    if (!error)
        self->gl_ready = gl_setup(self, gtk_gl_area_get_context(area), &error);
    if (error) {
        /* Not from inside the area's own realize: drop it from an idle. */
        g_message("Display: drawing without GL (%s)", error->message);
        g_idle_add_full(G_PRIORITY_DEFAULT, software_idle, g_object_ref(self), g_object_unref);
        g_error_free(error);
    }
}

static void on_gl_unrealize(GtkGLArea *area, VesselDisplay *self)
{
    if (!self->gl_ready)
        return;
    gtk_gl_area_make_current(area);
    if (!gtk_gl_area_get_error(area)) {
        glDeleteTextures(1, &self->tex);
        glDeleteBuffers(1, &self->vbo);
        glDeleteVertexArrays(1, &self->vao);
        glDeleteProgram(self->program);
    }
    self->tex = self->vbo = self->vao = self->program = 0;
    self->gl_ready = FALSE;
}

static void gl_upload(VesselDisplay *self)
{
    glBindTexture(GL_TEXTURE_2D, self->tex);
    GLenum format = self->gl_swizzle ? GL_RGBA : GL_BGRA;
    glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
    if (self->tex_w != self->fb_w || self->tex_h != self->fb_h) {
        GLint internal = self->gl_swizzle ? GL_RGBA8 : (epoxy_is_desktop_gl() ? GL_RGBA8 : GL_BGRA);
        glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
        glTexImage2D(GL_TEXTURE_2D, 0, internal, (GLsizei)self->fb_w, (GLsizei)self->fb_h, 0,
                     format, GL_UNSIGNED_BYTE, self->shadow);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
        self->tex_w = self->fb_w, self->tex_h = self->fb_h;
    } else if (self->dirty) {
        /* Only the changed rectangle: the rows between dy0 and dy1, columns dx0..dx1. */
        glPixelStorei(GL_UNPACK_ROW_LENGTH, (GLint)self->fb_w);
        glTexSubImage2D(GL_TEXTURE_2D, 0, (GLint)self->dx0, (GLint)self->dy0,
                        (GLsizei)(self->dx1 - self->dx0), (GLsizei)(self->dy1 - self->dy0), format,
                        GL_UNSIGNED_BYTE, self->shadow + (gsize)self->dy0 * self->fb_w + self->dx0);
        glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
    }
    self->dirty = FALSE;
}

static gboolean on_gl_render(GtkGLArea *area, GdkGLContext *context, VesselDisplay *self)
{
    (void)context;
    glClearColor(0, 0, 0, 1);
    glClear(GL_COLOR_BUFFER_BIT);
    if (!self->gl_ready || !self->shadow)
        return TRUE;

    gboolean fresh = self->dirty || self->tex_w != self->fb_w || self->tex_h != self->fb_h;
    gl_upload(self);

    int scale = gtk_widget_get_scale_factor(GTK_WIDGET(area));
    int fb_height = gtk_widget_get_height(GTK_WIDGET(area)) * scale;
    graphene_rect_t r;
    vessel_display_letterbox(gtk_widget_get_width(GTK_WIDGET(area)),
                             gtk_widget_get_height(GTK_WIDGET(area)), scale, self->fb_w, self->fb_h,
                             &r);
    int x = (int)lround(r.origin.x * scale), y = (int)lround(r.origin.y * scale);
    int w = (int)lround(r.size.width * scale), h = (int)lround(r.size.height * scale);
    /* Whole multiples are drawn with nearest sampling (sharp), scaled-down images smoothed. */
    GLint filter = (w % (int)self->fb_w == 0 && h % (int)self->fb_h == 0) ? GL_NEAREST : GL_LINEAR;
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, filter);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, filter);

    glViewport(x, fb_height - y - h, w, h);
    glUseProgram(self->program);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, self->tex);
    glUniform1i(self->u_tex, 0);
    glUniform1i(self->u_swizzle, self->gl_swizzle);
    glBindVertexArray(self->vao);
    glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
    glBindVertexArray(0);
    glUseProgram(0);

    if (fresh) {
        self->frames++;
        g_object_notify_by_pspec(G_OBJECT(self), props[PROP_FRAMES]);
    }
    return TRUE;
}

static void switch_to_software(VesselDisplay *self, const char *why)
{
    if (self->software)
        return;
    if (why)
        g_message("Display: drawing without GL (%s)", why);
    self->software = TRUE;
    self->texture_stale = TRUE;
    if (self->gl_area) {
        GtkWidget *area = self->gl_area;
        self->gl_area = NULL;
        g_signal_handlers_disconnect_by_data(area, self);
        gtk_widget_unparent(area);
    }
    gtk_widget_queue_draw(GTK_WIDGET(self));
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_RENDERER]);
}

/* ---- Software renderer and snapshot ---- */

static void vessel_display_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
    VesselDisplay *self = VESSEL_DISPLAY(widget);
    if (self->software) {
        int w = gtk_widget_get_width(widget), h = gtk_widget_get_height(widget);
        gtk_snapshot_append_color(snapshot, &(GdkRGBA){ 0, 0, 0, 1 },
                                  &GRAPHENE_RECT_INIT(0, 0, w, h));
        if (self->shadow && self->texture_stale) {
            GBytes *bytes = g_bytes_new(self->shadow, (gsize)self->fb_w * self->fb_h * 4);
            g_clear_object(&self->texture);
            self->texture =
                gdk_memory_texture_new((int)self->fb_w, (int)self->fb_h, GDK_MEMORY_B8G8R8A8, bytes,
                                       (gsize)self->fb_w * 4);
            g_bytes_unref(bytes);
            self->texture_stale = FALSE;
            self->dirty = FALSE;
            self->frames++;
            g_object_notify_by_pspec(G_OBJECT(self), props[PROP_FRAMES]);
        }
        if (self->texture && self->shadow) {
            graphene_rect_t r;
            image_rect(self, &r);
            gtk_snapshot_append_texture(snapshot, self->texture, &r);
        }
    }
    for (GtkWidget *child = gtk_widget_get_first_child(widget); child;
         child = gtk_widget_get_next_sibling(child))
        gtk_widget_snapshot_child(widget, child, snapshot);
}

/* ---- Input ---- */

static gboolean key_is_pressed(VesselDisplay *self, guint code)
{
    return code < EV_KEY_COUNT && (self->pressed[code / 8] & (1u << (code % 8)));
}

void vessel_display_send_key(VesselDisplay *self, guint code, gboolean pressed)
{
    g_return_if_fail(VESSEL_IS_DISPLAY(self));
    if (code == 0 || code >= EV_KEY_COUNT)
        return;
    if (pressed)
        self->pressed[code / 8] |= (guint8)(1u << (code % 8));
    else
        self->pressed[code / 8] &= (guint8) ~(1u << (code % 8));
    VsMachine *m = machine(self);
    if (m)
        vs_machine_input_key(m, code, pressed);
}

void vessel_display_send_ctrl_alt_del(VesselDisplay *self)
{
    static const guint keys[] = { EV_KEY_LEFTCTRL, EV_KEY_LEFTALT, EV_KEY_DELETE };
    for (gsize i = 0; i < G_N_ELEMENTS(keys); i++)
        vessel_display_send_key(self, keys[i], TRUE);
    for (gsize i = G_N_ELEMENTS(keys); i-- > 0;)
        vessel_display_send_key(self, keys[i], FALSE);
}

/* No stuck keys in the guest: release everything it believes is held. */
static void release_keys(VesselDisplay *self)
{
    for (guint code = 0; code < EV_KEY_COUNT; code++) {
        if (key_is_pressed(self, code))
            vessel_display_send_key(self, code, FALSE);
    }
}

static void mute_shortcuts(VesselDisplay *self)
{
    GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(self));
    if (!root || self->muted->len)
        return;
    GListModel *controllers = gtk_widget_observe_controllers(GTK_WIDGET(root));
    guint n = g_list_model_get_n_items(controllers);
    for (guint i = 0; i < n; i++) {
        GtkEventController *c = g_list_model_get_item(controllers, i);
        if (GTK_IS_SHORTCUT_CONTROLLER(c) &&
            gtk_event_controller_get_propagation_phase(c) != GTK_PHASE_NONE) {
            g_object_set_data(G_OBJECT(c), "vessel-display-phase",
                              GINT_TO_POINTER(gtk_event_controller_get_propagation_phase(c)));
            gtk_event_controller_set_propagation_phase(c, GTK_PHASE_NONE);
            g_ptr_array_add(self->muted, g_object_ref(c));
        }
        g_object_unref(c);
    }
    g_object_unref(controllers);
}

static void unmute_shortcuts(VesselDisplay *self)
{
    for (guint i = 0; i < self->muted->len; i++) {
        GtkEventController *c = self->muted->pdata[i];
        gtk_event_controller_set_propagation_phase(
            c, GPOINTER_TO_INT(g_object_get_data(G_OBJECT(c), "vessel-display-phase")));
    }
    g_ptr_array_set_size(self->muted, 0);
}

static void grab_with_event(VesselDisplay *self, GdkEvent *event)
{
    if (self->grabbed || !machine(self))
        return;
    gtk_widget_grab_focus(GTK_WIDGET(self));
    self->grabbed = TRUE;
    mute_shortcuts(self);
    GtkNative *native = gtk_widget_get_native(GTK_WIDGET(self));
    GdkSurface *surface = native ? gtk_native_get_surface(native) : NULL;
    if (surface && GDK_IS_TOPLEVEL(surface))
        gdk_toplevel_inhibit_system_shortcuts(GDK_TOPLEVEL(surface), event);
    gtk_revealer_set_reveal_child(GTK_REVEALER(self->hint), TRUE);
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_GRABBED]);
}

void vessel_display_grab(VesselDisplay *self)
{
    g_return_if_fail(VESSEL_IS_DISPLAY(self));
    grab_with_event(self, NULL);
}

void vessel_display_ungrab(VesselDisplay *self)
{
    g_return_if_fail(VESSEL_IS_DISPLAY(self));
    release_keys(self);
    if (!self->grabbed)
        return;
    self->grabbed = FALSE;
    unmute_shortcuts(self);
    GtkNative *native = gtk_widget_get_native(GTK_WIDGET(self));
    GdkSurface *surface = native ? gtk_native_get_surface(native) : NULL;
    if (surface && GDK_IS_TOPLEVEL(surface))
        gdk_toplevel_restore_system_shortcuts(GDK_TOPLEVEL(surface));
    gtk_revealer_set_reveal_child(GTK_REVEALER(self->hint), FALSE);
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_GRABBED]);
}

static gboolean on_key_pressed(GtkEventControllerKey *ctl, guint keyval, guint keycode,
                               GdkModifierType state, VesselDisplay *self)
{
    (void)ctl;
    if (!self->grabbed) {
        /* Without a mouse: Enter or Space on the focused display grabs the keyboard. */
        gboolean plain = (state & gtk_accelerator_get_default_mod_mask()) == 0;
        if (plain && machine(self) &&
            (keyval == GDK_KEY_Return || keyval == GDK_KEY_KP_Enter || keyval == GDK_KEY_space)) {
            grab_with_event(self, NULL);
            return TRUE;
        }
        return FALSE;
    }
    /* XKB keycodes are evdev codes + 8 (X11 and Wayland alike). */
    if (keycode >= 8)
        vessel_display_send_key(self, keycode - 8, TRUE);
    if (key_is_pressed(self, EV_KEY_LEFTCTRL) && key_is_pressed(self, EV_KEY_LEFTALT))
        vessel_display_ungrab(self);
    return TRUE;
}

static void on_key_released(GtkEventControllerKey *ctl, guint keyval, guint keycode,
                            GdkModifierType state, VesselDisplay *self)
{
    (void)ctl, (void)keyval, (void)state;
    if (keycode >= 8 && key_is_pressed(self, keycode - 8))
        vessel_display_send_key(self, keycode - 8, FALSE);
}

static void on_focus_leave(GtkEventControllerFocus *ctl, VesselDisplay *self)
{
    (void)ctl;
    vessel_display_ungrab(self);
}

static void on_scale_factor(VesselDisplay *self, GParamSpec *pspec, gpointer data)
{
    (void)pspec, (void)data;
    if (self->gl_area)
        gtk_gl_area_queue_render(GTK_GL_AREA(self->gl_area));
    gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void on_toplevel_active(GtkWindow *window, GParamSpec *pspec, VesselDisplay *self)
{
    (void)pspec;
    if (!gtk_window_is_active(window))
        vessel_display_ungrab(self);
}

static gboolean to_guest(VesselDisplay *self, double x, double y, double *gx, double *gy)
{
    if (!self->shadow)
        return FALSE;
    graphene_rect_t r;
    image_rect(self, &r);
    if (r.size.width <= 0 || r.size.height <= 0)
        return FALSE;
    *gx = CLAMP((x - r.origin.x) / r.size.width, 0.0, 1.0);
    *gy = CLAMP((y - r.origin.y) / r.size.height, 0.0, 1.0);
    return TRUE;
}

static void on_motion(GtkEventControllerMotion *ctl, double x, double y, VesselDisplay *self)
{
    (void)ctl;
    double gx, gy;
    VsMachine *m = machine(self);
    if (m && to_guest(self, x, y, &gx, &gy))
        vs_machine_input_move_abs(m, gx, gy);
}

static gboolean button_of(guint gdk_button, VsButton *out)
{
    switch (gdk_button) {
    case GDK_BUTTON_PRIMARY: *out = VS_BUTTON_LEFT; return TRUE;
    case GDK_BUTTON_MIDDLE: *out = VS_BUTTON_MIDDLE; return TRUE;
    case GDK_BUTTON_SECONDARY: *out = VS_BUTTON_RIGHT; return TRUE;
    case 8: *out = VS_BUTTON_SIDE; return TRUE;
    case 9: *out = VS_BUTTON_EXTRA; return TRUE;
    default: return FALSE;
    }
}

/* Buttons through the legacy controller: a click gesture would give up on a drag. */
static gboolean on_legacy_event(GtkEventControllerLegacy *ctl, GdkEvent *event, VesselDisplay *self)
{
    (void)ctl;
    GdkEventType type = gdk_event_get_event_type(event);
    if (type != GDK_BUTTON_PRESS && type != GDK_BUTTON_RELEASE)
        return FALSE;
    VsMachine *m = machine(self);
    if (!m)
        return FALSE;
    gboolean pressed = type == GDK_BUTTON_PRESS;
    if (pressed && !self->grabbed)
        grab_with_event(self, event);
    VsButton button;
    if (button_of(gdk_button_event_get_button(event), &button))
        vs_machine_input_button(m, button, pressed, true);
    return TRUE;
}

static gboolean on_scroll(GtkEventControllerScroll *ctl, double dx, double dy, VesselDisplay *self)
{
    (void)ctl;
    VsMachine *m = machine(self);
    if (!m)
        return FALSE;
    /* GTK: dy > 0 scrolls down; the engine: dy > 0 scrolls up. */
    int wy = (int)-lround(dy), wx = (int)lround(dx);
    if (wy || wx)
        vs_machine_input_wheel(m, wy, wx, true);
    return TRUE;
}

/* ---- GObject ---- */

void vessel_display_set_vm(VesselDisplay *self, VesselVm *vm)
{
    g_return_if_fail(VESSEL_IS_DISPLAY(self));
    if (self->vm == vm)
        return;
    vessel_display_ungrab(self);
    memset(self->pressed, 0, sizeof self->pressed);
    if (self->vm) {
        g_clear_signal_handler(&self->resize_id, self->vm);
        g_clear_signal_handler(&self->update_id, self->vm);
        g_clear_signal_handler(&self->state_id, self->vm);
        g_clear_object(&self->vm);
    }
    if (vm) {
        self->vm = g_object_ref(vm);
        self->resize_id =
            g_signal_connect(vm, "display-resize", G_CALLBACK(on_display_resize), self);
        self->update_id =
            g_signal_connect(vm, "display-update", G_CALLBACK(on_display_update), self);
        self->state_id = g_signal_connect(vm, "notify::state", G_CALLBACK(on_vm_state), self);
    }
    sync_size(self);
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_VM]);
}

VesselVm *vessel_display_get_vm(VesselDisplay *self)
{
    return self->vm;
}

const char *vessel_display_get_renderer(VesselDisplay *self)
{
    return self->software ? "software" : "gl";
}

guint64 vessel_display_get_frames(VesselDisplay *self)
{
    return self->frames;
}

gboolean vessel_display_get_has_image(VesselDisplay *self)
{
    return self->fb_w != 0;
}

gboolean vessel_display_get_grabbed(VesselDisplay *self)
{
    return self->grabbed;
}

GtkWidget *vessel_display_new(void)
{
    return g_object_new(VESSEL_TYPE_DISPLAY, NULL);
}

static void vessel_display_root(GtkWidget *widget)
{
    VesselDisplay *self = VESSEL_DISPLAY(widget);
    GTK_WIDGET_CLASS(vessel_display_parent_class)->root(widget);
    GtkRoot *root = gtk_widget_get_root(widget);
    if (GTK_IS_WINDOW(root)) {
        self->toplevel = GTK_WIDGET(root);
        self->active_id =
            g_signal_connect(root, "notify::is-active", G_CALLBACK(on_toplevel_active), self);
    }
}

static void vessel_display_unroot(GtkWidget *widget)
{
    VesselDisplay *self = VESSEL_DISPLAY(widget);
    vessel_display_ungrab(self);
    if (self->toplevel) {
        g_clear_signal_handler(&self->active_id, self->toplevel);
        self->toplevel = NULL;
    }
    GTK_WIDGET_CLASS(vessel_display_parent_class)->unroot(widget);
}

static void vessel_display_dispose(GObject *object)
{
    VesselDisplay *self = VESSEL_DISPLAY(object);
    vessel_display_set_vm(self, NULL);
    if (self->gl_area) {
        g_signal_handlers_disconnect_by_data(self->gl_area, self);
        g_clear_pointer(&self->gl_area, gtk_widget_unparent);
    }
    g_clear_pointer(&self->hint, gtk_widget_unparent);
    g_clear_object(&self->texture);
    G_OBJECT_CLASS(vessel_display_parent_class)->dispose(object);
}

static void vessel_display_finalize(GObject *object)
{
    VesselDisplay *self = VESSEL_DISPLAY(object);
    g_free(self->shadow);
    g_ptr_array_unref(self->muted);
    G_OBJECT_CLASS(vessel_display_parent_class)->finalize(object);
}

static void vessel_display_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
    VesselDisplay *self = VESSEL_DISPLAY(object);
    switch (id) {
    case PROP_VM: g_value_set_object(value, self->vm); break;
    case PROP_RENDERER: g_value_set_string(value, vessel_display_get_renderer(self)); break;
    case PROP_FRAMES: g_value_set_uint64(value, self->frames); break;
    case PROP_GRABBED: g_value_set_boolean(value, self->grabbed); break;
    case PROP_HAS_IMAGE: g_value_set_boolean(value, self->fb_w != 0); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
    }
}

static void vessel_display_class_init(VesselDisplayClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

    object_class->dispose = vessel_display_dispose;
    object_class->finalize = vessel_display_finalize;
    object_class->get_property = vessel_display_get_property;
    widget_class->snapshot = vessel_display_snapshot;
    widget_class->root = vessel_display_root;
    widget_class->unroot = vessel_display_unroot;

    GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
    props[PROP_VM] = g_param_spec_object("vm", NULL, NULL, VESSEL_TYPE_VM, ro);
    props[PROP_RENDERER] = g_param_spec_string("renderer", NULL, NULL, "gl", ro);
    props[PROP_FRAMES] = g_param_spec_uint64("frames", NULL, NULL, 0, G_MAXUINT64, 0, ro);
    props[PROP_GRABBED] = g_param_spec_boolean("grabbed", NULL, NULL, FALSE, ro);
    props[PROP_HAS_IMAGE] = g_param_spec_boolean("has-image", NULL, NULL, FALSE, ro);
    g_object_class_install_properties(object_class, N_PROPS, props);

    gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
    gtk_widget_class_set_css_name(widget_class, "vessel-display");
    gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

/* The hint is an on-screen bubble over the guest's image, whatever the theme. */
static void load_css(void)
{
    static gboolean loaded;
    GdkDisplay *display = gdk_display_get_default();
    if (loaded || !display)
        return;
    loaded = TRUE;
    GtkCssProvider *css = gtk_css_provider_new();
    gtk_css_provider_load_from_data(css,
                                    "vessel-display .grab-hint {"
                                    "  background-color: rgba(40, 40, 40, 0.9);"
                                    "  color: white;"
                                    "  border-radius: 999px;"
                                    "  padding: 6px 16px;"
                                    "}",
                                    -1);
    gtk_style_context_add_provider_for_display(display, GTK_STYLE_PROVIDER(css),
                                               GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
    g_object_unref(css);
}

static void vessel_display_init(VesselDisplay *self)
{
    GtkWidget *widget = GTK_WIDGET(self);
    self->muted = g_ptr_array_new_with_free_func(g_object_unref);
    gtk_widget_set_focusable(widget, TRUE);
    gtk_widget_set_focus_on_click(widget, TRUE);
    gtk_widget_set_hexpand(widget, TRUE);
    gtk_widget_set_vexpand(widget, TRUE);
    gtk_widget_set_overflow(widget, GTK_OVERFLOW_HIDDEN);
    gtk_accessible_update_property(
        GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Virtual machine screen"),
        GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
        _("Click it or press Enter to send the keyboard to the virtual machine; press Ctrl+Alt "
          "to get it back"),
        -1);
    g_signal_connect(self, "notify::scale-factor", G_CALLBACK(on_scale_factor), NULL);

    const char *env = g_getenv("VESSEL_DISPLAY_GL");
    if (env && strcmp(env, "0") == 0) {
        self->software = TRUE;
    } else {
        self->gl_area = gtk_gl_area_new();
        gtk_gl_area_set_auto_render(GTK_GL_AREA(self->gl_area), FALSE);
        gtk_gl_area_set_has_depth_buffer(GTK_GL_AREA(self->gl_area), FALSE);
        gtk_widget_set_can_target(self->gl_area, FALSE);
        g_signal_connect(self->gl_area, "create-context", G_CALLBACK(on_gl_create_context), self);
        g_signal_connect_after(self->gl_area, "realize", G_CALLBACK(on_gl_realize), self);
        g_signal_connect(self->gl_area, "unrealize", G_CALLBACK(on_gl_unrealize), self);
        g_signal_connect(self->gl_area, "render", G_CALLBACK(on_gl_render), self);
        gtk_widget_set_parent(self->gl_area, widget);
    }

    load_css();
    GtkWidget *label = gtk_label_new(_("Press Ctrl+Alt to release the keyboard"));
    gtk_widget_add_css_class(label, "grab-hint");
    gtk_widget_set_margin_top(label, 12);
    gtk_label_set_wrap(GTK_LABEL(label), TRUE);
    gtk_label_set_justify(GTK_LABEL(label), GTK_JUSTIFY_CENTER);
    self->hint = gtk_revealer_new();
    gtk_revealer_set_transition_type(GTK_REVEALER(self->hint),
                                     GTK_REVEALER_TRANSITION_TYPE_CROSSFADE);
    gtk_revealer_set_child(GTK_REVEALER(self->hint), label);
    gtk_widget_set_halign(self->hint, GTK_ALIGN_CENTER);
    gtk_widget_set_valign(self->hint, GTK_ALIGN_START);
    gtk_widget_set_can_target(self->hint, FALSE);
    gtk_widget_set_parent(self->hint, widget);

    GtkEventController *key = gtk_event_controller_key_new();
    gtk_event_controller_set_propagation_phase(key, GTK_PHASE_CAPTURE);
    g_signal_connect(key, "key-pressed", G_CALLBACK(on_key_pressed), self);
    g_signal_connect(key, "key-released", G_CALLBACK(on_key_released), self);
    gtk_widget_add_controller(widget, key);

    GtkEventController *focus = gtk_event_controller_focus_new();
    g_signal_connect(focus, "leave", G_CALLBACK(on_focus_leave), self);
    gtk_widget_add_controller(widget, focus);

    GtkEventController *motion = gtk_event_controller_motion_new();
    g_signal_connect(motion, "motion", G_CALLBACK(on_motion), self);
    gtk_widget_add_controller(widget, motion);

    GtkEventController *legacy = gtk_event_controller_legacy_new();
    g_signal_connect(legacy, "event", G_CALLBACK(on_legacy_event), self);
    gtk_widget_add_controller(widget, legacy);

    GtkEventController *scroll = gtk_event_controller_scroll_new(
        GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES | GTK_EVENT_CONTROLLER_SCROLL_DISCRETE);
    g_signal_connect(scroll, "scroll", G_CALLBACK(on_scroll), self);
    gtk_widget_add_controller(widget, scroll);
}
