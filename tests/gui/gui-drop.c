/* SPDX-License-Identifier: MIT */
/*
 * The drag-and-drop copy engine (app/vessel-drop.c): files and nested folders, name
 * clashes (twice), no overwrite, special files and symlinks skipped, progress on the
 * main thread, cancel without a partial file, and a main loop that keeps running during
 * a big copy.
 */
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gui-test.h"
#include "vessel-drop.h"

typedef struct {
    gboolean done;
    gboolean ok;
    GError *error;
    guint n_files, n_skipped;
    guint64 n_bytes;
    guint progress_calls;
    guint last_files_done, last_files_total;
    guint64 last_bytes_done, last_bytes_total;
    gboolean progress_off_main;
    gboolean progress_after_done;
    GCancellable *cancel_at_bytes; /* cancel once some (not all) bytes are copied */
    GThread *main_thread;
} Run;

static void on_progress(guint files_done, guint files_total, guint64 bytes_done,
                        guint64 bytes_total, const char *current, gpointer data)
{
    (void)current;
    Run *r = data;
    r->progress_calls++;
    if (g_thread_self() != r->main_thread)
        r->progress_off_main = TRUE;
    if (r->done)
        r->progress_after_done = TRUE;
    r->last_files_done = files_done;
    r->last_files_total = files_total;
    r->last_bytes_done = bytes_done;
    r->last_bytes_total = bytes_total;
    if (r->cancel_at_bytes && bytes_done > 0 && bytes_done < bytes_total)
        g_cancellable_cancel(r->cancel_at_bytes);
}

static void on_done(GObject *source, GAsyncResult *result, gpointer data)
{
    (void)source;
    Run *r = data;
    r->ok = vessel_drop_copy_finish(result, &r->n_files, &r->n_bytes, &r->n_skipped, &r->error);
    r->done = TRUE;
}

static gboolean run_done(gpointer data)
{
    return ((Run *)data)->done;
}

/* A main-loop timer that looks at the file being copied: a tick that sees it part-written
 * proves the main loop ran while the copy was under way (no timing involved). */
typedef struct {
    const char *path; /* the copy's destination */
    goffset total;
    guint ticks, mid_copy;
} Ticker;

static gboolean tick(gpointer data)
{
    Ticker *t = data;
    GStatBuf st;
    t->ticks++;
    if (g_stat(t->path, &st) == 0 && st.st_size > 0 && st.st_size < t->total)
        t->mid_copy++;
    return G_SOURCE_CONTINUE;
}

/* Copy names (relative to src) into dest; wait for the result. */
static void copy(Run *r, const char *src, const char *const *names, const char *dest,
                 GCancellable *cancellable)
{
    GList *files = NULL;
    for (const char *const *n = names; *n; n++) {
        char *path = g_build_filename(src, *n, NULL);
        files = g_list_append(files, g_file_new_for_path(path));
        g_free(path);
    }
    GFile *dest_dir = g_file_new_for_path(dest);
    memset(r, 0, sizeof *r);
    r->main_thread = g_thread_self();
    r->cancel_at_bytes = cancellable;
    vessel_drop_copy_async(files, dest_dir, cancellable, on_progress, r, on_done, r);
    g_list_free_full(files, g_object_unref);
    g_object_unref(dest_dir);
    GUI_CHECK(gui_wait_until(run_done, r, 60000));
    /* A late progress call would come from an idle queued before completion: spin a bit. */
    gui_spin(50);
    GUI_CHECK(!r->progress_off_main);
    GUI_CHECK(!r->progress_after_done);
}

static char *read_file(const char *dir, const char *name)
{
    char *path = g_build_filename(dir, name, NULL);
    char *contents = NULL;
    if (!g_file_get_contents(path, &contents, NULL, NULL))
        contents = NULL;
    g_free(path);
    return contents;
}

static void write_file(const char *dir, const char *name, const char *contents)
{
    char *path = g_build_filename(dir, name, NULL);
    GUI_CHECK(g_file_set_contents(path, contents, -1, NULL));
    g_free(path);
}

static gboolean exists(const char *dir, const char *name)
{
    char *path = g_build_filename(dir, name, NULL);
    gboolean e = g_file_test(path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK);
    g_free(path);
    return e;
}

static void check_content(const char *dir, const char *name, const char *expected)
{
    char *got = read_file(dir, name);
    if (g_strcmp0(got, expected) != 0) {
        fprintf(stderr, "%s/%s: expected \"%s\", got \"%s\"\n", dir, name, expected,
                got ? got : "(missing)");
        exit(1);
    }
    g_free(got);
}

static guint count_entries(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    GUI_CHECK(d);
    guint n = 0;
    while (g_dir_read_name(d))
        n++;
    g_dir_close(d);
    return n;
}

static void test_numbered_names(void)
{
    struct {
        const char *name;
        gboolean dir;
        const char *expected;
    } cases[] = {
        { "a.txt", FALSE, "a (2).txt" },     { "notes", FALSE, "notes (2)" },
        { ".bashrc", FALSE, ".bashrc (2)" }, { "x.tar.gz", FALSE, "x (2).tar.gz" },
        { "trail.", FALSE, "trail. (2)" },   { "photos.d", TRUE, "photos.d (2)" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *got = vessel_drop_numbered_name(cases[i].name, 2, cases[i].dir);
        if (strcmp(got, cases[i].expected) != 0) {
            fprintf(stderr, "numbered name of %s: %s, expected %s\n", cases[i].name, got,
                    cases[i].expected);
            exit(1);
        }
        g_free(got);
    }
}

int main(void)
{
    test_numbered_names();

    char *root = g_dir_make_tmp("vessel-drop-XXXXXX", NULL);
    GUI_CHECK(root);
    char *src = g_build_filename(root, "src", NULL);
    char *dest = g_build_filename(root, "shared", NULL);
    char *nested = g_build_filename(src, "dir", "sub", NULL);
    GUI_CHECK(g_mkdir_with_parents(nested, 0755) == 0);
    GUI_CHECK(g_mkdir(dest, 0755) == 0);
    write_file(src, "a.txt", "alpha");
    write_file(src, "dir/c.txt", "charlie");
    write_file(src, "dir/sub/b.bin", "bravo");
    char *script = g_build_filename(src, "run.sh", NULL);
    write_file(src, "run.sh", "#!/bin/sh\necho hi\n");
    GUI_CHECK(g_chmod(script, 0755) == 0);
    char *link = g_build_filename(src, "link", NULL);
    GUI_CHECK(symlink("a.txt", link) == 0);
    char *inner_link = g_build_filename(src, "dir", "sub", "up", NULL);
    GUI_CHECK(symlink("..", inner_link) == 0);
    char *fifo = g_build_filename(src, "fifo", NULL);
    GUI_CHECK(mkfifo(fifo, 0644) == 0);

    /* 1. Files, a nested folder, a script; a symlink, a FIFO and a link inside skipped. */
    const char *first[] = { "a.txt", "dir", "run.sh", "link", "fifo", NULL };
    Run r;
    copy(&r, src, first, dest, NULL);
    if (!r.ok) {
        fprintf(stderr, "copy failed: %s\n", r.error->message);
        return 1;
    }
    GUI_CHECK(r.n_files == 4);
    GUI_CHECK(r.n_skipped == 3);
    GUI_CHECK(r.n_bytes == strlen("alpha") + strlen("charlie") + strlen("bravo") +
                               strlen("#!/bin/sh\necho hi\n"));
    GUI_CHECK(r.progress_calls >= 1);
    GUI_CHECK(r.last_files_done == 4 && r.last_files_total == 4);
    GUI_CHECK(r.last_bytes_done == r.n_bytes && r.last_bytes_total == r.n_bytes);
    check_content(dest, "a.txt", "alpha");
    check_content(dest, "dir/c.txt", "charlie");
    check_content(dest, "dir/sub/b.bin", "bravo");
    GUI_CHECK(!exists(dest, "link") && !exists(dest, "fifo") && !exists(dest, "dir/sub/up"));
    char *dest_script = g_build_filename(dest, "run.sh", NULL);
    GUI_CHECK(g_file_test(dest_script, G_FILE_TEST_IS_EXECUTABLE));
    GUI_CHECK(count_entries(dest) == 3);

    /* 2. The same again, twice: numbered names, existing content untouched. */
    write_file(dest, "a.txt", "mine, edited in the guest");
    const char *again[] = { "a.txt", "dir", NULL };
    for (int round = 0; round < 2; round++) {
        copy(&r, src, again, dest, NULL);
        GUI_CHECK(r.ok && r.n_files == 3 && r.n_skipped == 1);
    }
    check_content(dest, "a.txt", "mine, edited in the guest");
    check_content(dest, "a (2).txt", "alpha");
    check_content(dest, "a (3).txt", "alpha");
    check_content(dest, "dir/c.txt", "charlie");
    check_content(dest, "dir (2)/c.txt", "charlie");
    check_content(dest, "dir (3)/sub/b.bin", "bravo");
    GUI_CHECK(count_entries(dest) == 7);

    /* 3. A folder cannot be copied into itself (the share inside it): nothing created. */
    const char *self[] = { "shared", NULL };
    copy(&r, root, self, dest, NULL);
    GUI_CHECK(!r.ok && g_error_matches(r.error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT));
    g_clear_error(&r.error);
    GUI_CHECK(count_entries(dest) == 7);

    /* 4. A big file: the main loop keeps running while it is copied (a timer sees the copy
     * part-written), progress is reported several times. */
    char *big = g_build_filename(src, "big.bin", NULL);
    {
        gsize size = 96 * 1024 * 1024;
        char *data = g_malloc(size);
        for (gsize i = 0; i < size; i++)
            data[i] = (char)(i * 7 + (i >> 12));
        GUI_CHECK(g_file_set_contents(big, data, (gssize)size, NULL));
        g_free(data);
    }
    const char *bigs[] = { "big.bin", NULL };
    char *copied = g_build_filename(dest, "big.bin", NULL);
    Ticker ticker = { copied, 96 * 1024 * 1024, 0, 0 };
    guint timer = g_timeout_add(1, tick, &ticker);
    copy(&r, src, bigs, dest, NULL);
    g_source_remove(timer);
    GUI_CHECK(r.ok && r.n_files == 1 && r.n_bytes == 96u * 1024 * 1024);
    fprintf(stderr, "big copy: %u timer ticks, %u of them mid-copy, %u progress calls\n",
            ticker.ticks, ticker.mid_copy, r.progress_calls);
    GUI_CHECK(r.progress_calls >= 2);
    GUI_CHECK(ticker.mid_copy >= 1);
    {
        char *a = NULL, *b = NULL;
        gsize la = 0, lb = 0;
        GUI_CHECK(g_file_get_contents(big, &a, &la, NULL));
        GUI_CHECK(g_file_get_contents(copied, &b, &lb, NULL));
        GUI_CHECK(la == lb && memcmp(a, b, la) == 0);
        g_free(a);
        g_free(b);
    }

    /* 5. Cancel in the middle of a file: CANCELLED, and no partial "big (2).bin". */
    GCancellable *cancellable = g_cancellable_new();
    copy(&r, src, bigs, dest, cancellable);
    GUI_CHECK(!r.ok && g_error_matches(r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
    g_clear_error(&r.error);
    GUI_CHECK(r.n_files == 0 && r.n_bytes == 0);
    GUI_CHECK(!exists(dest, "big (2).bin"));
    GUI_CHECK(count_entries(dest) == 8);
    g_object_unref(cancellable);

    /* 6. An unreadable source: a clear error naming it, nothing created. */
    const char *missing[] = { "no-such-file", NULL };
    copy(&r, src, missing, dest, NULL);
    GUI_CHECK(!r.ok && strstr(r.error->message, "no-such-file"));
    g_clear_error(&r.error);
    GUI_CHECK(count_entries(dest) == 8);

    char *argv[] = { "rm", "-rf", root, NULL };
    g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    printf("gui-drop: OK\n");
    g_free(copied);
    g_free(big);
    g_free(dest_script);
    g_free(fifo);
    g_free(inner_link);
    g_free(link);
    g_free(script);
    g_free(nested);
    g_free(dest);
    g_free(src);
    g_free(root);
    return 0;
}
