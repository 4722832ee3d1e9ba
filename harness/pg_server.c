/* pg_server.c -- a throwaway PostgreSQL for one run (pg_sink.h): initdb
 * into the run folder, the postmaster on a free 127.0.0.1 port as a
 * supervised child (so the harness's watchdog stops it however the
 * harness dies), fast shutdown and removal at the end. PostgreSQL refuses
 * to run as root: as root, initdb and the server run as the postgres
 * system user (setpriv). */
#include "harness/pg_sink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crmsync/common.h"

#define PG_USER "postgres"
#define INITDB_TIMEOUT_MS 60000
#define READY_TIMEOUT_MS 30000
#define STOP_TIMEOUT_MS 10000

static void nap_ms(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

/* The newest server binaries: $CRMSYNC_PG_BINDIR, or Debian's
 * /usr/lib/postgresql/N/bin. */
static int find_bindir(char *out, size_t size, char *errstr, size_t errstr_size)
{
        const char *env = getenv("CRMSYNC_PG_BINDIR");
        glob_t      g;
        int         best = -1;

        if (env && *env) {
                snprintf(out, size, "%s", env);
                return 0;
        }
        if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) == 0) {
                long bestv = -1;
                for (size_t i = 0; i < g.gl_pathc; i++) {
                        long v = strtol(g.gl_pathv[i] + 20, NULL, 10);
                        if (v > bestv) {
                                bestv = v;
                                best  = (int)i;
                        }
                }
                if (best >= 0) {
                        snprintf(out, size, "%s", g.gl_pathv[best]);
                        *strrchr(out, '/') = '\0';
                }
                globfree(&g);
        }
        if (best < 0)
                return crmsync_err(errstr, errstr_size,
                                   "postgres sink: no PostgreSQL server "
                                   "found (/usr/lib/postgresql/*/bin/initdb; "
                                   "install the postgresql package, "
                                   "scripts/setup.sh does, or set "
                                   "CRMSYNC_PG_BINDIR)");
        return 0;
}

/* A free TCP port on 127.0.0.1 (bound and released: a small race that a
 * failed start retries). */
static int free_port(void)
{
        struct sockaddr_in sin = {0};
        socklen_t          len = sizeof(sin);
        int                fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

        if (fd < 0)
                return -1;
        sin.sin_family      = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
            getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
                port = ntohs(sin.sin_port);
        close(fd);
        return port;
}

/* As root: the postgres user's ids (0 otherwise, nothing to switch). */
static int pg_ids(uid_t *uid, gid_t *gid, char *errstr, size_t errstr_size)
{
        struct passwd *pw;
        *uid = 0;
        *gid = 0;
        if (geteuid() != 0)
                return 0;
        if (!(pw = getpwnam(PG_USER)))
                return crmsync_err(errstr, errstr_size,
                                   "postgres sink: running as root and there "
                                   "is no '%s' system user to run the "
                                   "server as (the postgresql package "
                                   "creates it)",
                                   PG_USER);
        *uid = pw->pw_uid;
        *gid = pw->pw_gid;
        return 0;
}

/* Can the postgres user reach (search) dir? Checked in a child that
 * drops to that user. */
static int user_can_reach(const char *dir, uid_t uid, gid_t gid)
{
        pid_t pid;
        int   st;
        if (!uid)
                return access(dir, X_OK | W_OK) == 0;
        if ((pid = fork()) == -1)
                return 0;
        if (pid == 0) {
                if (setgid(gid) || setuid(uid))
                        _exit(1);
                _exit(access(dir, X_OK) == 0 ? 0 : 1);
        }
        return waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
               WEXITSTATUS(st) == 0;
}

/* Run argv (as uid/gid when non-zero) with output appended to log, up
 * to timeout_ms. Returns the exit status, or -1. */
static int run_as(char *const *argv, uid_t uid, gid_t gid, const char *log,
                  int timeout_ms)
{
        pid_t pid;
        int   st;
        fflush(NULL);
        if ((pid = fork()) == -1)
                return -1;
        if (pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
                if (fd >= 0) {
                        dup2(fd, 1);
                        dup2(fd, 2);
                }
                if (uid && (setgid(gid) || setuid(uid)))
                        _exit(126);
                execv(argv[0], argv);
                _exit(127);
        }
        for (int waited = 0; waited < timeout_ms; waited += 50) {
                if (waitpid(pid, &st, WNOHANG) == pid)
                        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
                nap_ms(50);
        }
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        return -1;
}

/* The data directory, created and owned by the server's user: in the run
 * folder when that user can reach it, else a private folder in /tmp. */
static int make_data_dir(struct pg_server *s, const char *run_dir, uid_t uid,
                         gid_t gid, char *errstr, size_t errstr_size)
{
        char abs[PATH_MAX];

        if (realpath(run_dir, abs) && strlen(abs) < sizeof(s->data_dir) - 10 &&
            user_can_reach(abs, uid, gid)) {
                snprintf(s->data_dir, sizeof(s->data_dir), "%.1000s/postgres",
                         abs);
                if (mkdir(s->data_dir, 0700) == -1)
                        return crmsync_err(errstr, errstr_size, "%s: %s",
                                           s->data_dir, strerror(errno));
        } else {
                snprintf(s->data_dir, sizeof(s->data_dir),
                         "/tmp/crmsync-pg-XXXXXX");
                if (!mkdtemp(s->data_dir))
                        return crmsync_err(errstr, errstr_size, "mkdtemp: %s",
                                           strerror(errno));
                s->dir_is_tmp = 1;
        }
        if (uid && chown(s->data_dir, uid, gid) == -1)
                return crmsync_err(errstr, errstr_size, "chown %s: %s",
                                   s->data_dir, strerror(errno));
        return 0;
}

static int initdb(struct pg_server *s, const char *log, uid_t uid, gid_t gid,
                  char *errstr, size_t errstr_size)
{
        char  bin[512], pgdata[1100];
        char *argv[] = {
            bin,  pgdata, "-U",        PG_USER,       "--auth=trust",
            "-E", "UTF8", "--no-sync", "--no-locale", "--no-instructions",
            NULL};
        int rc;

        snprintf(bin, sizeof(bin), "%s/initdb", s->bindir);
        snprintf(pgdata, sizeof(pgdata), "--pgdata=%s", s->data_dir);
        rc = run_as(argv, uid, gid, log, INITDB_TIMEOUT_MS);
        if (rc != 0)
                return crmsync_err(errstr, errstr_size,
                                   "postgres sink: initdb %s failed (%s %d; "
                                   "see %s)",
                                   s->data_dir, rc < 0 ? "status" : "exit", rc,
                                   log);
        return 0;
}

/* Start the postmaster as a supervised child and wait until it answers.
 * Returns 0, 1 when it exited early (the port may have been taken), or
 * -1 + errstr. */
static int start_postmaster(struct pg_server *s, const char *run_dir,
                            char *errstr, size_t errstr_size)
{
        const char *argv[40];
        char        bin[512], port[16], conn[128];
        int         n = 0;
        int64_t     until;

        snprintf(bin, sizeof(bin), "%s/postgres", s->bindir);
        snprintf(port, sizeof(port), "%d", s->port);
        if (geteuid() == 0) {
                argv[n++] = "/usr/bin/setpriv";
                argv[n++] = "--reuid=" PG_USER;
                argv[n++] = "--regid=" PG_USER;
                argv[n++] = "--init-groups";
                argv[n++] = "--";
        }
        argv[n++] = bin;
        argv[n++] = "-D";
        argv[n++] = s->data_dir;
        argv[n++] = "-p";
        argv[n++] = port;
        argv[n++] = "-c";
        argv[n++] = "listen_addresses=127.0.0.1";
        argv[n++] = "-c";
        argv[n++] = "unix_socket_directories=";
        argv[n++] = "-c";
        argv[n++] = "fsync=off";
        argv[n++] = "-c";
        argv[n++] = "synchronous_commit=off";
        argv[n++] = "-c";
        argv[n++] = "full_page_writes=off";
        argv[n++] = "-c";
        argv[n++] = "max_connections=40";
        argv[n++] = "-c";
        argv[n++] = "shared_buffers=32MB";
        argv[n]   = NULL;
        snprintf(s->child.name, sizeof(s->child.name), "postgres");
        snprintf(s->child.log_path, sizeof(s->child.log_path),
                 "%s/postgres.log", run_dir);
        crmsync_child_set_argv(&s->child, argv);
        crmsync_child_setenv(&s->child, "CRMSYNC_RUN_DIR", run_dir);
        if (crmsync_child_start(&s->child, errstr, errstr_size) == -1)
                return -1;
        snprintf(conn, sizeof(conn),
                 "host=127.0.0.1 port=%d dbname=postgres user=" PG_USER
                 " connect_timeout=2",
                 s->port);
        until = crmsync_mono_ms() + READY_TIMEOUT_MS;
        while (crmsync_mono_ms() < until) {
                if (PQping(conn) == PQPING_OK)
                        return 0;
                if (crmsync_child_reap(&s->child))
                        return 1;
                nap_ms(50);
        }
        return crmsync_err(errstr, errstr_size,
                           "postgres sink: the server did not accept "
                           "connections within %d s (see %s)",
                           READY_TIMEOUT_MS / 1000, s->child.log_path);
}

int crmsync_pg_server_start(struct pg_server *s, const char *run_dir, int keep,
                            char *errstr, size_t errstr_size)
{
        char  log[1100];
        uid_t uid;
        gid_t gid;
        int   rc = 1;

        memset(s, 0, sizeof(*s));
        s->keep = keep;
        if (find_bindir(s->bindir, sizeof(s->bindir), errstr, errstr_size) ||
            pg_ids(&uid, &gid, errstr, errstr_size) ||
            make_data_dir(s, run_dir, uid, gid, errstr, errstr_size))
                goto fail;
        snprintf(log, sizeof(log), "%s/postgres.log", run_dir);
        if (initdb(s, log, uid, gid, errstr, errstr_size))
                goto fail;
        for (int attempt = 0; attempt < 3 && rc == 1; attempt++) {
                if ((s->port = free_port()) <= 0) {
                        crmsync_err(errstr, errstr_size,
                                    "postgres sink: no free port");
                        goto fail;
                }
                rc = start_postmaster(s, run_dir, errstr, errstr_size);
        }
        if (rc == 1)
                crmsync_err(errstr, errstr_size,
                            "postgres sink: the server exited at start "
                            "(see %s)",
                            log);
        if (rc)
                goto fail;
        return 0;
fail:
        crmsync_pg_server_stop(s);
        return -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
        (void)sb;
        (void)flag;
        (void)ftw;
        return remove(path) == -1 && errno != ENOENT ? -1 : 0;
}

void crmsync_pg_server_stop(struct pg_server *s)
{
        if (s->child.pid) {
                /* SIGINT: fast shutdown (clients disconnected, clean). */
                crmsync_child_signal(&s->child, SIGINT);
                for (int waited = 0;
                     waited < STOP_TIMEOUT_MS && !crmsync_child_reap(&s->child);
                     waited += 20)
                        nap_ms(20);
                crmsync_child_stop(&s->child, 0); /* SIGKILL if still up */
        }
        crmsync_child_free(&s->child);
        if (s->data_dir[0] && !s->keep)
                nftw(s->data_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        s->data_dir[0] = '\0';
}
