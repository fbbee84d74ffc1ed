/* SPDX-License-Identifier: MIT */
/*
 * A 9P2000.L file server for one shared host directory (the back end of virtio-9p).
 *
 * The server is transport-free: p9_handle() takes one complete T-message and writes one
 * R-message. Everything in the message is untrusted. A frame whose size field disagrees
 * with its length, a string running past the end, an unknown type, a fid that is unknown
 * or used the wrong way, a count over the negotiated msize: each gets Rlerror with an
 * errno (EBADF for unknown fids), never a crash.
 *
 * Host access. The share's root is one directory fd; every path the guest names is
 * resolved below it with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so no symlink
 * is ever followed on the host (a host symlink in the share is shown to the guest as a
 * symlink, which the guest resolves in its own namespace) and no path leaves the share,
 * whatever renames race with it. Names are single components: '/', NUL, "." and ".." and
 * empty names are refused ("..", in Twalk only, goes up lexically and stays at the root).
 * Objects are first opened O_PATH, checked with fstat, and only regular files and
 * directories are ever opened for I/O (through /proc/self/fd of the O_PATH fd, the same
 * inode): device nodes, FIFOs and sockets on the host are never opened.
 *
 * Mapped security model (QEMU's security_model=mapped-xattr, same xattr names and
 * encoding): the guest's uid, gid, mode and rdev live in the xattrs user.virtfs.uid (le32),
 * user.virtfs.gid (le32), user.virtfs.mode (le32) and user.virtfs.rdev (le64); host files
 * stay owned by the user running Vessel, with mode 0600 (files) / 0700 (directories) when
 * the guest creates them. Device nodes, FIFOs and sockets the guest creates are regular
 * host files with the type in user.virtfs.mode; guest symlinks are regular host files
 * holding the target, so the host never follows them. When the share's filesystem has no
 * user xattrs (tmpfs before Linux 6.6, some network filesystems) or with P9_NO_MAPPING, the
 * server falls back to passing the host's own attributes through: the guest sees the host
 * owner and mode, new files get the guest's permission bits (0777 only, never set-id),
 * chmod changes the host permission bits (0777 only), chown to another owner is EPERM, and
 * creating symlinks, device nodes, FIFOs and sockets is EOPNOTSUPP (nowhere safe to keep
 * their type).
 *
 * Not implemented: extended attributes for the guest (Txattrwalk / Txattrcreate answer
 * EOPNOTSUPP, which also keeps user.virtfs.* invisible); Tauth (EOPNOTSUPP: no
 * authentication). Tlock always succeeds and Tgetlock reports no conflicting lock: POSIX
 * locks are only advisory between guest processes of one mount, which the guest kernel
 * arbitrates itself for a single client.
 *
 * Threads: one P9Server is used by one thread at a time.
 */
#ifndef VESSEL_P9_H
#define VESSEL_P9_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Largest msize the server negotiates, and the smallest it accepts. */
#define P9_MAX_MSIZE (512 * 1024)
#define P9_MIN_MSIZE 4096
/* Room an R-message needs at least (an Rlerror). */
#define P9_MIN_REPLY 11
/* Fids one session may hold at once. */
#define P9_MAX_FIDS 8192
/* Fids one session may hold open (each holds a host fd) at once: a guest opening files
 * without end must not take every fd Vessel has. */
#define P9_MAX_OPEN 512
/* Names in one Twalk (9P limit). */
#define P9_MAX_WELEM 16

typedef struct P9Server P9Server;

/* p9_server_new flags. */
#define P9_READONLY   1u /* every modifying request fails with EROFS */
#define P9_NO_MAPPING 2u /* the passthrough fallback even where user xattrs work */

/*
 * Open a server on the host directory root. Returns 0, or a negative errno with a message
 * in errbuf (the path does not exist, is not a directory, cannot be opened).
 */
int p9_server_new(P9Server **out, const char *root, unsigned flags, char *errbuf, size_t errlen);
void p9_server_free(P9Server *s);
/* Back to the state before Tversion: every fid clunked, msize back to P9_MAX_MSIZE. */
void p9_server_reset(P9Server *s);
/* The negotiated msize (P9_MAX_MSIZE before Tversion). */
uint32_t p9_server_msize(const P9Server *s);
/* Whether the share stores guest ownership and modes in xattrs (the mapped model). */
bool p9_server_mapped(const P9Server *s);
/* Open fids (for tests). */
unsigned p9_server_nfids(const P9Server *s);

/*
 * Handle one T-message of req_len bytes and write the R-message to reply (cap bytes, at
 * least P9_MIN_REPLY). Returns the reply's length (its size field); 0 only when cap is
 * below P9_MIN_REPLY. A reply that would not fit in cap becomes Rlerror(EMSGSIZE); Tread
 * and Treaddir shorten their data to fit instead.
 */
size_t p9_handle(P9Server *s, const uint8_t *req, size_t req_len, uint8_t *reply, size_t cap);
/*
 * The same for a transport that has the message in buffer lists (virtio: the request's
 * device-readable buffers `out`, its device-writable buffers `in`). Tread data is read
 * straight into `in` and Twrite data written straight from `out`; other messages are
 * copied through req_buf and reply_buf (P9_MAX_MSIZE bytes each). The reply is shortened
 * to the room in `in` like p9_handle's cap. Returns the reply's length written to `in`;
 * 0 (nothing written) when `in` cannot hold P9_MIN_REPLY bytes.
 */
size_t p9_handle_iov(P9Server *s, const struct iovec *out, unsigned out_num, const struct iovec *in,
                     unsigned in_num, uint8_t *req_buf, uint8_t *reply_buf);

#endif
