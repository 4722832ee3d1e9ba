/* gzfile.h -- a stdio FILE over a gzip file (lib/), so that code written
 * for fprintf and getline reads and writes history.jsonl.gz unchanged.
 *
 * Writing: every time stdio hands its buffer on (buffer full, fflush,
 * fclose) the bytes are compressed and sync-flushed to the file, so all
 * that was fflush'ed can be decompressed even if the process dies right
 * after (zcat then reports only an unexpected end of file).
 * Reading: a plain, uncompressed file reads as-is, so one reader serves
 * both history.jsonl and history.jsonl.gz. rewind() works (it re-reads
 * from the start).
 *
 * Ownership: the returned FILE owns the gzip handle; fclose() releases
 * both. Errors set errno (EIO when zlib gives no errno of its own). */
#ifndef CRMSYNC_GZFILE_H
#define CRMSYNC_GZFILE_H

#include <stdio.h>

/* mode: "r" or "w". Returns NULL with errno set on failure. */
FILE *crmsync_gzfile_open(const char *path, const char *mode);

#endif
