/* scenario_target.c -- target files: an embedded cluster's shape, or an
 * external cluster's client properties (secrets as ${NAME} references to
 * the environment) and the commands that stop, start and add a broker. */
#include "harness/scenario_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>

#include "crmsync/common.h"

/* -- external targets ------------------------------------------------------ */

/* The clients read the properties as "key=value" lines (kafka_conf.c),
 * trimmed: a property that does not survive that, or that librdkafka
 * refuses, fails the run's set-up with no position in the target file. */
static int check_property(struct vctx *c, const char *path, const char *key,
                          const char *val)
{
        rd_kafka_conf_t *conf;
        char             kerr[512];
        size_t           n = strlen(val);
        int              rc;

        if (!*key || strpbrk(key, "= \t\r\n") || *key == '#')
                return scenario_err(
                    c, path, 1,
                    "a property name is not empty and has no '=', "
                    "space or line break, nor a leading '#'");
        if (strpbrk(val, "\r\n"))
                return scenario_err(c, path, 0, "a value has no line break");
        if (n && (isspace((unsigned char)val[0]) ||
                  isspace((unsigned char)val[n - 1])))
                return scenario_err(
                    c, path, 0,
                    "a value has no leading or trailing space (the "
                    "clients would not see it)");
        if (!(conf = rd_kafka_conf_new()))
                return scenario_err(c, path, 0, "out of memory");
        rc = rd_kafka_conf_set(conf, key, val, kerr, sizeof(kerr));
        rd_kafka_conf_destroy(conf);
        if (rc != RD_KAFKA_CONF_OK)
                return scenario_err(c, path, rc == RD_KAFKA_CONF_UNKNOWN, "%s",
                                    kerr);
        return 0;
}

/* A property whose value is a secret: a password, a client secret, a
 * private key, or an OAUTHBEARER config (it may carry credentials). */
int crmsync_target_secret_property(const char *name)
{
        static const char *const marks[] = {"password", "secret", "key.pem",
                                            "oauthbearer.config"};
        for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
                if (strcasestr(name, marks[i]))
                        return 1;
        return 0;
}

/* Replace every ${NAME} in val by the environment's NAME: a secret is
 * written in the target file as a reference, never as its value. Returns
 * a new string, or NULL with the error set. */
static char *expand_env(struct vctx *c, const char *path, const char *val)
{
        size_t      cap = strlen(val) + 1, n = 0;
        char       *out = malloc(cap);
        const char *p   = val;

        while (out && *p) {
                const char *end, *env;
                char        name[128];
                size_t      len;
                if (strncmp(p, "${", 2)) {
                        out[n++] = *p++;
                        continue;
                }
                if (!(end = strchr(p + 2, '}')) || end == p + 2 ||
                    (size_t)(end - p - 2) >= sizeof(name)) {
                        free(out);
                        scenario_err(c, path, 0,
                                     "'${' starts an environment reference "
                                     "${NAME} that is not closed or empty");
                        return NULL;
                }
                snprintf(name, sizeof(name), "%.*s", (int)(end - p - 2), p + 2);
                for (const char *q = name; *q; q++)
                        if (!(*q == '_' || isalnum((unsigned char)*q))) {
                                free(out);
                                scenario_err(
                                    c, path, 0,
                                    "'%s' is not an environment variable "
                                    "name (letters, digits, '_')",
                                    name);
                                return NULL;
                        }
                if (!(env = getenv(name))) {
                        free(out);
                        scenario_err(c, path, 0,
                                     "environment variable %s is not set (the "
                                     "target file refers to it as ${%s})",
                                     name, name);
                        return NULL;
                }
                len = strlen(env);
                if (len + n + strlen(end + 1) + 1 > cap) {
                        char *nb = realloc(out, cap = len + n + cap + 1);
                        if (!nb)
                                free(out);
                        out = nb;
                        if (!out)
                                break;
                }
                memcpy(out + n, env, len);
                n += len;
                p = end + 1;
        }
        if (!out) {
                scenario_err(c, path, 0, "out of memory");
                return NULL;
        }
        out[n] = '\0';
        return out;
}

/* properties: strings, each checked as librdkafka would take it, with
 * ${NAME} references expanded; a secret only as a reference. */
static int load_properties(struct vctx *c, json_t *props,
                           struct scenario_target *t)
{
        json_t     *v;
        const char *k;

        t->properties = json_object();
        json_object_foreach(props, k, v)
        {
                char  p[512];
                char *val;
                snprintf(p, sizeof(p), "properties.%s", k);
                if (!json_is_string(v))
                        return scenario_err(
                            c, p, 0,
                            "librdkafka properties are strings, got "
                            "%s",
                            scenario_type_name(v));
                if (crmsync_target_secret_property(k) &&
                    !strstr(json_string_value(v), "${"))
                        return scenario_err(
                            c, p, 0,
                            "a secret is not written in a target "
                            "file: refer to an environment variable "
                            "(\"${KAFKA_PASSWORD}\")");
                if (!(val = expand_env(c, p, json_string_value(v))))
                        return -1;
                if (check_property(c, p, k, val)) {
                        free(val);
                        return -1;
                }
                json_object_set_new(t->properties, k, json_string(val));
                free(val);
        }
        t->raw_properties = json_incref(props);
        return 0;
}

static int load_embedded_target(struct vctx *c, json_t *root,
                                struct scenario_target *t)
{
        static const char *const known[] = {
            "name", "type", "brokers", "partitions", "properties", NULL};
        json_t *props;
        if (scenario_check_known(c, root, "", known) ||
            scenario_get_int(c, root, "", "brokers", &t->brokers, 1, 16) ||
            scenario_get_int(c, root, "", "partitions", &t->partitions, 1,
                             1024) ||
            scenario_get_obj(c, root, "", "properties", &props))
                return -1;
        /* Client settings the run may choose (a producer's
         * compression.type, say); where the broker is, the harness
         * decides. */
        if (props && json_object_get(props, "bootstrap.servers"))
                return scenario_err(c, "properties.bootstrap.servers", 0,
                                    "an embedded target's brokers are "
                                    "started by the run: leave "
                                    "bootstrap.servers out");
        return props ? load_properties(c, props, t) : 0;
}

static int load_target(struct vctx *c, json_t *root, struct scenario_target *t)
{
        static const char *const known[]  = {"name",   "type",     "properties",
                                             "topics", "commands", "partitions",
                                             NULL};
        static const char *const topick[] = {"create", "replication", NULL};
        static const char *const cmdk[]   = {"broker_down", "broker_up",
                                             "scale_out", NULL};
        char                     type[16] = "external";
        json_t                  *props, *o;

        if (!json_is_object(root))
                return scenario_err(c, "", 0, "a target must be a JSON object");
        if (!json_object_get(root, "name"))
                return scenario_err(c, "", 0, "missing required field 'name'");
        if (scenario_get_str(c, root, "", "name", t->name, sizeof(t->name),
                             NULL) ||
            scenario_get_str(c, root, "", "type", type, sizeof(type),
                             "external|embedded"))
                return -1;
        if ((t->embedded = !strcmp(type, "embedded")))
                return load_embedded_target(c, root, t);
        if (scenario_check_known(c, root, "", known) ||
            scenario_get_obj(c, root, "", "properties", &props) ||
            scenario_get_int(c, root, "", "partitions", &t->partitions, 1,
                             1024))
                return -1;
        if (!props || !json_object_get(props, "bootstrap.servers"))
                return scenario_err(
                    c, props ? "properties" : "", 0,
                    "missing required property 'bootstrap.servers'");
        if (load_properties(c, props, t) ||
            scenario_get_str(c, t->properties, "properties",
                             "bootstrap.servers", t->bootstrap,
                             sizeof(t->bootstrap), NULL))
                return -1;
        if (scenario_get_obj(c, root, "", "topics", &o))
                return -1;
        if (o &&
            (scenario_check_known(c, o, "topics", topick) ||
             scenario_get_bool(c, o, "topics", "create", &t->create_topics) ||
             scenario_get_int(c, o, "topics", "replication", &t->replication, 1,
                              16)))
                return -1;
        if (scenario_get_obj(c, root, "", "commands", &o))
                return -1;
        if (o &&
            (scenario_check_known(c, o, "commands", cmdk) ||
             scenario_get_strdup(c, o, "commands", "broker_down",
                                 &t->broker_down) ||
             scenario_get_strdup(c, o, "commands", "broker_up",
                                 &t->broker_up) ||
             scenario_get_strdup(c, o, "commands", "scale_out", &t->scale_out)))
                return -1;
        if (!t->broker_down != !t->broker_up)
                return scenario_err(c, "commands", 0,
                                    "broker_down and broker_up go together");
        return 0;
}

struct scenario_target *crmsync_target_load(const char *path, char *errstr,
                                            size_t errstr_size)
{
        FILE                   *fp = fopen(path, "rb");
        char                   *buf;
        size_t                  n;
        json_error_t            jerr;
        json_t                 *root;
        struct scenario_target *t;
        struct vctx             c = {path, NULL, errstr, errstr_size, 0};

        if (!fp) {
                crmsync_err(errstr, errstr_size, "%s: %s", path,
                            strerror(errno));
                return NULL;
        }
        buf = malloc(SCENARIO_MAX_BYTES + 1);
        n   = buf ? fread(buf, 1, SCENARIO_MAX_BYTES + 1, fp) : 0;
        fclose(fp);
        if (!buf || n > SCENARIO_MAX_BYTES) {
                free(buf);
                crmsync_err(errstr, errstr_size, "%s: too large", path);
                return NULL;
        }
        if (!(root = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &jerr))) {
                crmsync_err(errstr, errstr_size, "%s:%d:%d: %s", path,
                            jerr.line, jerr.column, jerr.text);
                free(buf);
                return NULL;
        }
        t              = calloc(1, sizeof(*t));
        t->replication = 1;
        c.jp           = crmsync_jsonpos_index(buf, n);
        if (load_target(&c, root, t) == -1) {
                crmsync_target_destroy(t);
                t = NULL;
        }
        crmsync_jsonpos_destroy(c.jp);
        json_decref(root);
        free(buf);
        return t;
}

void crmsync_target_destroy(struct scenario_target *t)
{
        if (!t)
                return;
        json_decref(t->properties);
        json_decref(t->raw_properties);
        free(t->scale_out);
        free(t->broker_down);
        free(t->broker_up);
        free(t);
}
