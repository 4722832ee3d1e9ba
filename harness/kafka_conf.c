/* kafka_conf.c -- the judge's Kafka configuration path (kafka_conf.h). */
#include "harness/kafka_conf.h"

#include "crmsync/common.h"
#include "crmsync/kafka_props.h"

static int judge_set(void *opaque, const char *key, const char *val, char *err,
                     size_t err_size)
{
        rd_kafka_conf_res_t res =
            rd_kafka_conf_set(opaque, key, val, err, err_size);
        return res == RD_KAFKA_CONF_OK ? 0 : -1;
}

int crmsync_harness_kafka_conf(rd_kafka_conf_t *conf, const char *path,
                               char *errstr, size_t errstr_size)
{
        if (!conf)
                return crmsync_err(errstr, errstr_size,
                                   "kafka config: no configuration");
        return crmsync_kafka_props_read(path, judge_set, conf, errstr,
                                        errstr_size);
}
