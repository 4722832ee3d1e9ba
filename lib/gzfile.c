/* gzfile.c -- a stdio FILE over zlib's gzFile (gzfile.h). */
#include "crmsync/gzfile.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

#define GZFILE_BUF (256 * 1024) /* stdio buffer: one sync flush per fill */

static int gz_errno(gzFile gz)
{
        int zerr = Z_OK;
        gzerror(gz, &zerr);
        return zerr == Z_ERRNO && errno ? errno : EIO;
}

static ssize_t gz_read(void *cookie, char *buf, size_t size)
{
        unsigned n   = size > (1u << 30) ? 1u << 30 : (unsigned)size;
        int      got = gzread((gzFile)cookie, buf, n);
        if (got < 0) {
                errno = gz_errno((gzFile)cookie);
                return -1;
        }
        return got;
}

static ssize_t gz_write(void *cookie, const char *buf, size_t size)
{
        gzFile gz   = cookie;
        size_t done = 0;
        while (done < size) {
                unsigned n = size - done > (1u << 30) ? 1u << 30
                                                      : (unsigned)(size - done);
                errno      = 0;
                if (gzwrite(gz, buf + done, n) != (int)n) {
                        errno = gz_errno(gz);
                        return done ? (ssize_t)done : -1;
                }
                done += n;
        }
        errno = 0;
        if (gzflush(gz, Z_SYNC_FLUSH) != Z_OK) {
                errno = gz_errno(gz);
                return -1;
        }
        return (ssize_t)size;
}

/* Only rewind (offset 0 from the start) is needed and supported. */
static int gz_seek(void *cookie, off64_t *offset, int whence)
{
        if (whence != SEEK_SET || *offset != 0) {
                errno = EINVAL;
                return -1;
        }
        if (gzrewind((gzFile)cookie) != 0) {
                errno = gz_errno((gzFile)cookie);
                return -1;
        }
        return 0;
}

static int gz_close(void *cookie)
{
        int rc;
        errno = 0;
        rc    = gzclose((gzFile)cookie);
        if (rc != Z_OK) {
                if (!errno)
                        errno = EIO;
                return -1;
        }
        return 0;
}

FILE *crmsync_gzfile_open(const char *path, const char *mode)
{
        int                   wr = !strcmp(mode, "w");
        gzFile                gz;
        FILE                 *fp;
        cookie_io_functions_t io = {
            .read  = wr ? NULL : gz_read,
            .write = wr ? gz_write : NULL,
            .seek  = wr ? NULL : gz_seek,
            .close = gz_close,
        };
        if (!wr && strcmp(mode, "r")) {
                errno = EINVAL;
                return NULL;
        }
        errno = 0;
        if (!(gz = gzopen(path, wr ? "wb6" : "rb"))) {
                if (!errno)
                        errno = ENOMEM;
                return NULL;
        }
        if (gzbuffer(gz, 128 * 1024) != 0 ||
            !(fp = fopencookie(gz, wr ? "w" : "r", io))) {
                gzclose(gz);
                errno = ENOMEM;
                return NULL;
        }
        setvbuf(fp, NULL, _IOFBF, GZFILE_BUF);
        return fp;
}
