/* SPDX-License-Identifier: MIT */
/*
 * Copying dropped files and folders into a VM's shared folder.
 *
 * The copy runs on a worker thread. It never overwrites anything: a name that already
 * exists in the destination becomes "name (2).ext", "name (3).ext"... (folders too).
 * Folders are copied recursively; symbolic links and special files (devices, sockets,
 * FIFOs) are skipped and counted, since the 9P share does not follow host symlinks. A
 * file that fails or is cancelled half-way is removed, so no partial file remains.
 */
#ifndef VESSEL_DROP_H
#define VESSEL_DROP_H

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * Progress of a copy, called on the main context of the thread that started it
 * (coalesced: at most one pending call at a time, always with the newest numbers).
 * files_total and bytes_total are known after a first scan of the sources; current is
 * the name of the file being copied (may be NULL).
 */
typedef void (*VesselDropProgress)(guint files_done, guint files_total, guint64 bytes_done,
                                   guint64 bytes_total, const char *current, gpointer data);

void vessel_drop_copy_async(GList *files /* GFile */, GFile *dest_dir, GCancellable *cancellable,
                            VesselDropProgress progress, gpointer progress_data,
                            GAsyncReadyCallback callback, gpointer user_data);
/* n_files: regular files copied; n_bytes: their bytes; n_skipped: links and special files
 * left out. On error (or G_IO_ERROR_CANCELLED) the counts describe what was copied. */
gboolean vessel_drop_copy_finish(GAsyncResult *result, guint *n_files, guint64 *n_bytes,
                                 guint *n_skipped, GError **error);

/* "name (n).ext" for a file, "name (n)" for a folder (n >= 2); newly allocated. */
char *vessel_drop_numbered_name(const char *name, guint n, gboolean is_dir);

G_END_DECLS

#endif
