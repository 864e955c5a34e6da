#ifndef INLINELB_SYSTEM_H
#define INLINELB_SYSTEM_H

/// Atomically exchanges two paths (Linux renameat2 with RENAME_EXCHANGE).
/// Returns 0 on success, -1 with errno set otherwise.
int inlinelb_exchange_paths(const char *first, const char *second);

/// Starts writing a file's dirty pages to disk without waiting (Linux sync_file_range with
/// SYNC_FILE_RANGE_WRITE), so that a later fsync mostly waits for I/O already under way.
/// Returns 0 on success, -1 with errno set otherwise.
int inlinelb_start_writeback(int descriptor);

/// Writes every dirty page and all metadata of the filesystem holding `descriptor` to disk
/// and waits for it (Linux syncfs); reports writeback errors on that filesystem since the
/// descriptor was opened. Returns 0 on success, -1 with errno set otherwise.
int inlinelb_sync_filesystem(int descriptor);

#endif
