/* kafka_log.c -- the log of the harness's own Kafka clients (kafka_log.h). */
#include "harness/kafka_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "crmsync/common.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FILE           *logfp;
static int             failed_errno; /* the first open or write that failed */

void crmsync_kafka_log_open(const char *path)
{
        FILE *fp  = path ? fopen(path, "a") : NULL;
        int   err = path && !fp ? errno : 0;
        pthread_mutex_lock(&lock);
        if (logfp)
                fclose(logfp);
        logfp        = fp;
        failed_errno = err;
        pthread_mutex_unlock(&lock);
}

int crmsync_kafka_log_failed(void)
{
        int err;
        pthread_mutex_lock(&lock);
        err = failed_errno;
        pthread_mutex_unlock(&lock);
        return err;
}

void crmsync_kafka_log_close(void)
{
        crmsync_kafka_log_open(NULL);
}

void crmsync_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
                          const char *buf)
{
        FILE *fp;
        pthread_mutex_lock(&lock);
        fp = logfp ? logfp : stderr;
        if ((fprintf(fp, "%lld %%%d|%s|%s| %s\n", (long long)crmsync_wall_ms(),
                     level, fac, rk ? rd_kafka_name(rk) : "-", buf) < 0 ||
             fflush(fp) == EOF) &&
            logfp) {
                /* A full disk: say so once (the run stops on it), and
                 * log to stderr from now on. */
                if (!failed_errno)
                        failed_errno = errno ? errno : EIO;
                fclose(logfp);
                logfp = NULL;
        }
        pthread_mutex_unlock(&lock);
}
