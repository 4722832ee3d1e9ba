/* kafka_log.c -- the log of the harness's own Kafka clients (kafka_log.h). */
#include "crmsync/kafka_log.h"

#include <pthread.h>
#include <stdio.h>

#include "crmsync/common.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FILE           *logfp;

void crmsync_kafka_log_open(const char *path)
{
        FILE *fp = path ? fopen(path, "a") : NULL;
        pthread_mutex_lock(&lock);
        if (logfp)
                fclose(logfp);
        logfp = fp;
        pthread_mutex_unlock(&lock);
}

void crmsync_kafka_log_close(void)
{
        crmsync_kafka_log_open(NULL);
}

void crmsync_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
                          const char *buf)
{
        pthread_mutex_lock(&lock);
        fprintf(logfp ? logfp : stderr, "%lld %%%d|%s|%s| %s\n",
                (long long)crmsync_wall_ms(), level, fac,
                rk ? rd_kafka_name(rk) : "-", buf);
        if (logfp)
                fflush(logfp);
        pthread_mutex_unlock(&lock);
}
