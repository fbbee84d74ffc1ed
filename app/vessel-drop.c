/* SPDX-License-Identifier: MIT */
/*
 * The copy engine behind drag-and-drop into a VM's shared folder (see vessel-drop.h).
 *
 * Two tasks: the outer one is what the caller sees; the inner one runs the copy on a
 * worker thread. When the inner one completes (main context), progress reporting is
 * closed first and only then the outer task returns, so the caller's progress callback is
 * never called after its completion callback.
 */
#include "vessel-drop.h"

#include <glib/gi18n.h>
#include <string.h>

#define COPY_CHUNK   (256 * 1024)
#define MAX_NUMBERED 10000
#define QUERY_ATTRS                                                   \
    G_FILE_ATTRIBUTE_STANDARD_TYPE "," G_FILE_ATTRIBUTE_STANDARD_NAME \
                                   "," G_FILE_ATTRIBUTE_STANDARD_SIZE \
                                   "," G_FILE_ATTRIBUTE_UNIX_MODE

typedef struct {
    GMutex lock;
    GMainContext *context;
    VesselDropProgress cb;
    gpointer cb_data;
    guint files_done, files_total;
    guint64 bytes_done, bytes_total;
    char *current;
    gboolean pending;  /* an idle call is scheduled */
    gboolean finished; /* the copy completed: no more calls */
} Progress;

typedef struct {
    GList *files; /* GFile, owned */
    GFile *dest;
    Progress *progress;
    guint n_files, n_skipped;
    guint64 n_bytes;
} Job;

static void progress_clear(Progress *p)
{
    g_mutex_clear(&p->lock);
    g_main_context_unref(p->context);
    g_free(p->current);
}

static void progress_unref(gpointer p)
{
    g_atomic_rc_box_release_full(p, (GDestroyNotify)progress_clear);
}

static gboolean progress_idle(gpointer data)
{
    Progress *p = data;
    g_mutex_lock(&p->lock);
    p->pending = FALSE;
    guint files_done = p->files_done, files_total = p->files_total;
    guint64 bytes_done = p->bytes_done, bytes_total = p->bytes_total;
    char *current = g_strdup(p->current);
    gboolean finished = p->finished;
    g_mutex_unlock(&p->lock);
    if (!finished && p->cb)
        p->cb(files_done, files_total, bytes_done, bytes_total, current, p->cb_data);
    g_free(current);
    return G_SOURCE_REMOVE;
}

/* Worker thread: publish the job's numbers, scheduling one idle call if none is pending. */
static void progress_publish(Job *job, guint files_total, guint64 bytes_total, const char *current)
{
    Progress *p = job->progress;
    g_mutex_lock(&p->lock);
    p->files_done = job->n_files;
    p->bytes_done = job->n_bytes;
    p->files_total = files_total;
    p->bytes_total = bytes_total;
    if (current && g_strcmp0(current, p->current) != 0) {
        g_free(p->current);
        p->current = g_strdup(current);
    }
    if (!p->pending && !p->finished) {
        p->pending = TRUE;
        GSource *source = g_idle_source_new();
        g_source_set_priority(source, G_PRIORITY_DEFAULT);
        g_source_set_callback(source, progress_idle, g_atomic_rc_box_acquire(p), progress_unref);
        g_source_set_static_name(source, "[vessel] drop copy progress");
        g_source_attach(source, p->context);
        g_source_unref(source);
    }
    g_mutex_unlock(&p->lock);
}

static void job_free(gpointer data)
{
    Job *job = data;
    g_list_free_full(job->files, g_object_unref);
    g_object_unref(job->dest);
    progress_unref(job->progress);
    g_free(job);
}

char *vessel_drop_numbered_name(const char *name, guint n, gboolean is_dir)
{
    const char *dot = is_dir ? NULL : strrchr(name, '.');
    /* A leading dot (".bashrc") or a trailing one is not an extension. */
    if (dot && (dot == name || dot[1] == '\0'))
        dot = NULL;
    /* Keep compound archive extensions together: "a.tar.gz" -> "a (2).tar.gz". */
    if (dot && dot - name > 4 && strncmp(dot - 4, ".tar", 4) == 0)
        dot -= 4;
    if (!dot)
        return g_strdup_printf("%s (%u)", name, n);
    return g_strdup_printf("%.*s (%u)%s", (int)(dot - name), name, n, dot);
}

/* Sum what a source holds (regular files and their sizes); errors are left to the copy. */
static void scan(GFile *file, GFileInfo *info, GCancellable *cancellable, guint *files,
                 guint64 *bytes)
{
    GFileType type = g_file_info_get_file_type(info);
    if (type == G_FILE_TYPE_REGULAR) {
        (*files)++;
        *bytes += (guint64)g_file_info_get_size(info);
        return;
    }
    if (type != G_FILE_TYPE_DIRECTORY)
        return;
    GFileEnumerator *en = g_file_enumerate_children(
        file, QUERY_ATTRS, G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, cancellable, NULL);
    if (!en)
        return;
    GFileInfo *child_info;
    while ((child_info = g_file_enumerator_next_file(en, cancellable, NULL))) {
        GFile *child = g_file_enumerator_get_child(en, child_info);
        scan(child, child_info, cancellable, files, bytes);
        g_object_unref(child);
        g_object_unref(child_info);
    }
    g_object_unref(en);
}

typedef struct {
    guint files_total;
    guint64 bytes_total;
} Totals;

/* Create dest_parent/name, or the first free numbered variant; the new GFile or NULL. */
static GFile *create_unique(GFile *dest_parent, const char *name, gboolean is_dir,
                            GFileOutputStream **out, GCancellable *cancellable, GError **error)
{
    for (guint n = 1; n <= MAX_NUMBERED; n++) {
        char *candidate = n == 1 ? g_strdup(name) : vessel_drop_numbered_name(name, n, is_dir);
        GFile *child = g_file_get_child(dest_parent, candidate);
        g_free(candidate);
        GError *local = NULL;
        gboolean ok;
        if (is_dir) {
            ok = g_file_make_directory(child, cancellable, &local);
        } else {
            /* g_file_create fails with G_IO_ERROR_EXISTS rather than replace (O_EXCL). */
            *out = g_file_create(child, G_FILE_CREATE_NONE, cancellable, &local);
            ok = *out != NULL;
        }
        if (ok)
            return child;
        g_object_unref(child);
        if (!g_error_matches(local, G_IO_ERROR, G_IO_ERROR_EXISTS)) {
            g_propagate_error(error, local);
            return NULL;
        }
        g_error_free(local);
    }
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                _("Too many files named “%s” in the shared folder"), name);
    return NULL;
}

static gboolean copy_file(Job *job, const Totals *totals, GFile *src, GFileInfo *info,
                          GFile *dest_parent, GCancellable *cancellable, GError **error)
{
    const char *name = g_file_info_get_name(info);
    GError *local = NULL;
    GFileInputStream *in = g_file_read(src, cancellable, &local);
    if (!in) {
        g_set_error(error, local->domain, local->code, _("Could not read “%s”: %s"), name,
                    local->message);
        g_error_free(local);
        return FALSE;
    }
    GFileOutputStream *out = NULL;
    GFile *dest = create_unique(dest_parent, name, FALSE, &out, cancellable, &local);
    if (!dest) {
        g_set_error(error, local->domain, local->code, _("Could not create a copy of “%s”: %s"),
                    name, local->message);
        g_error_free(local);
        g_object_unref(in);
        return FALSE;
    }
    progress_publish(job, totals->files_total, totals->bytes_total, name);

    guint8 *buf = g_malloc(COPY_CHUNK);
    guint64 copied = 0;
    gboolean ok = TRUE;
    for (;;) {
        gssize n = g_input_stream_read(G_INPUT_STREAM(in), buf, COPY_CHUNK, cancellable, &local);
        if (n < 0) {
            ok = FALSE;
            break;
        }
        if (n == 0)
            break;
        if (!g_output_stream_write_all(G_OUTPUT_STREAM(out), buf, (gsize)n, NULL, cancellable,
                                       &local)) {
            ok = FALSE;
            break;
        }
        copied += (guint64)n;
        job->n_bytes += (guint64)n;
        progress_publish(job, totals->files_total, totals->bytes_total, name);
    }
    g_free(buf);
    g_input_stream_close(G_INPUT_STREAM(in), NULL, NULL);
    g_object_unref(in);
    if (ok && !g_output_stream_close(G_OUTPUT_STREAM(out), cancellable, &local))
        ok = FALSE;
    if (!ok) {
        /* No partial file stays behind: close what we wrote and remove it. */
        g_output_stream_close(G_OUTPUT_STREAM(out), NULL, NULL);
        g_file_delete(dest, NULL, NULL);
        job->n_bytes -= copied;
        if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            g_propagate_error(error, local);
        else {
            g_set_error(error, local->domain, local->code, _("Could not copy “%s”: %s"), name,
                        local->message);
            g_error_free(local);
        }
    } else {
        /* Keep the executable bits (scripts stay runnable in the guest). */
        guint32 mode = g_file_info_get_attribute_uint32(info, G_FILE_ATTRIBUTE_UNIX_MODE);
        if (mode & 0111)
            g_file_set_attribute_uint32(dest, G_FILE_ATTRIBUTE_UNIX_MODE, mode & 0777,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
        job->n_files++;
        progress_publish(job, totals->files_total, totals->bytes_total, name);
    }
    g_object_unref(out);
    g_object_unref(dest);
    return ok;
}

static gboolean copy_entry(Job *job, const Totals *totals, GFile *src, GFileInfo *info,
                           GFile *dest_parent, GCancellable *cancellable, GError **error)
{
    if (g_cancellable_set_error_if_cancelled(cancellable, error))
        return FALSE;
    GFileType type = g_file_info_get_file_type(info);
    if (type == G_FILE_TYPE_REGULAR)
        return copy_file(job, totals, src, info, dest_parent, cancellable, error);
    if (type != G_FILE_TYPE_DIRECTORY) {
        /* Symbolic links, devices, sockets, FIFOs: the 9P share would not follow them. */
        job->n_skipped++;
        return TRUE;
    }

    const char *name = g_file_info_get_name(info);
    GError *local = NULL;
    GFile *dir = create_unique(dest_parent, name, TRUE, NULL, cancellable, &local);
    if (!dir) {
        g_set_error(error, local->domain, local->code, _("Could not create the folder “%s”: %s"),
                    name, local->message);
        g_error_free(local);
        return FALSE;
    }
    GFileEnumerator *en = g_file_enumerate_children(
        src, QUERY_ATTRS, G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, cancellable, &local);
    gboolean ok = en != NULL;
    if (!en) {
        g_set_error(error, local->domain, local->code, _("Could not read the folder “%s”: %s"),
                    name, local->message);
        g_error_free(local);
    }
    while (ok) {
        GFileInfo *child_info = g_file_enumerator_next_file(en, cancellable, &local);
        if (!child_info) {
            if (local) {
                ok = FALSE;
                g_propagate_error(error, local);
            }
            break;
        }
        GFile *child = g_file_enumerator_get_child(en, child_info);
        ok = copy_entry(job, totals, child, child_info, dir, cancellable, error);
        g_object_unref(child);
        g_object_unref(child_info);
    }
    g_clear_object(&en);
    g_object_unref(dir);
    return ok;
}

static void copy_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
    (void)source;
    Job *job = task_data;
    GError *error = NULL;
    GPtrArray *infos = g_ptr_array_new_with_free_func(g_object_unref);
    Totals totals = { 0, 0 };

    /* Check every source before anything is created, so bad input creates nothing. */
    for (GList *l = job->files; l; l = l->next) {
        GFile *src = l->data;
        GFileInfo *info = g_file_query_info(src, QUERY_ATTRS, G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS,
                                            cancellable, &error);
        if (!info) {
            char *name = g_file_get_parse_name(src);
            g_prefix_error(&error, _("Could not read “%s”: "), name);
            g_free(name);
            goto fail;
        }
        if (g_file_info_get_file_type(info) == G_FILE_TYPE_DIRECTORY &&
            (g_file_equal(src, job->dest) || g_file_has_prefix(job->dest, src))) {
            g_set_error(&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        _("The folder “%s” contains the shared folder: it cannot be copied "
                          "into itself"),
                        g_file_info_get_name(info));
            g_object_unref(info);
            goto fail;
        }
        scan(src, info, cancellable, &totals.files_total, &totals.bytes_total);
        g_ptr_array_add(infos, info);
    }
    progress_publish(job, totals.files_total, totals.bytes_total, NULL);

    guint i = 0;
    for (GList *l = job->files; l; l = l->next, i++) {
        if (!copy_entry(job, &totals, l->data, infos->pdata[i], job->dest, cancellable, &error))
            goto fail;
    }
    progress_publish(job, totals.files_total, totals.bytes_total, NULL);
    g_ptr_array_unref(infos);
    g_task_return_boolean(task, TRUE);
    return;

fail:
    g_ptr_array_unref(infos);
    g_task_return_error(task, error);
}

/* Main context: the worker finished. Close progress, then complete the caller's task. */
static void copy_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    (void)source;
    GTask *outer = user_data;
    Job *job = g_task_get_task_data(outer);
    Progress *p = job->progress;

    g_mutex_lock(&p->lock);
    gboolean deliver = p->pending; /* the newest numbers were not shown yet */
    p->finished = TRUE;
    guint files_done = p->files_done, files_total = p->files_total;
    guint64 bytes_done = p->bytes_done, bytes_total = p->bytes_total;
    g_mutex_unlock(&p->lock);
    if (deliver && p->cb)
        p->cb(files_done, files_total, bytes_done, bytes_total, NULL, p->cb_data);

    GError *error = NULL;
    if (g_task_propagate_boolean(G_TASK(result), &error))
        g_task_return_boolean(outer, TRUE);
    else
        g_task_return_error(outer, error);
    g_object_unref(outer);
}

void vessel_drop_copy_async(GList *files, GFile *dest_dir, GCancellable *cancellable,
                            VesselDropProgress progress, gpointer progress_data,
                            GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(G_IS_FILE(dest_dir));

    Job *job = g_new0(Job, 1);
    for (GList *l = files; l; l = l->next)
        job->files = g_list_prepend(job->files, g_object_ref(l->data));
    job->files = g_list_reverse(job->files);
    job->dest = g_object_ref(dest_dir);
    job->progress = g_atomic_rc_box_new0(Progress);
    g_mutex_init(&job->progress->lock);
    job->progress->context = g_main_context_ref_thread_default();
    job->progress->cb = progress;
    job->progress->cb_data = progress_data;

    GTask *outer = g_task_new(NULL, cancellable, callback, user_data);
    g_task_set_source_tag(outer, vessel_drop_copy_async);
    g_task_set_task_data(outer, job, job_free);

    GTask *inner = g_task_new(NULL, cancellable, copy_done, outer);
    g_task_set_task_data(inner, job, NULL); /* owned by the outer task, which outlives it */
    g_task_run_in_thread(inner, copy_thread);
    g_object_unref(inner);
}

gboolean vessel_drop_copy_finish(GAsyncResult *result, guint *n_files, guint64 *n_bytes,
                                 guint *n_skipped, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), FALSE);
    Job *job = g_task_get_task_data(G_TASK(result));
    if (n_files)
        *n_files = job->n_files;
    if (n_bytes)
        *n_bytes = job->n_bytes;
    if (n_skipped)
        *n_skipped = job->n_skipped;
    return g_task_propagate_boolean(G_TASK(result), error);
}
