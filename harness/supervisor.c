/* supervisor.c -- start, signal, stop and reap child processes. */
#include "harness/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crmsync/common.h"

void crmsync_child_set_argv(struct child *c, const char *const *argv)
{
        int i;
        for (i = 0; c->argv[i]; i++) {
                free(c->argv[i]);
                c->argv[i] = NULL;
        }
        for (i = 0; argv[i] && i < SUPERVISOR_MAX_ARGS - 1; i++)
                c->argv[i] = strdup(argv[i]);
        c->argv[i] = NULL;
}

void crmsync_child_setenv(struct child *c, const char *name, const char *value)
{
        size_t n = strlen(name) + strlen(value) + 2;
        int    i;
        for (i = 0; i < SUPERVISOR_MAX_ENV - 1 && c->env[i]; i++)
                ;
        if (i == SUPERVISOR_MAX_ENV - 1)
                return;
        c->env[i] = malloc(n);
        if (c->env[i])
                snprintf(c->env[i], n, "%s=%s", name, value);
}

/* -- the watchdog ---------------------------------------------------------
 * A process forked once that outlives the harness just long enough to kill
 * what the harness started. The harness holds the only other end of a
 * SOCK_SEQPACKET socket (close-on-exec, so no child keeps it open past
 * exec): EOF on it means the harness is gone, whatever killed it. */

struct wd_msg {
        int32_t op; /* '+' register a process group, '-' forget it,
                     * 'P' remove the path that follows on exit, 'Q'
                     * forget that path */
        int32_t pgid;
};

/* Paths the watchdog removes, and their longest length. */
#define WD_MAX_PATHS 16
#define WD_PATH_MAX 1024

#define WD_FD 3 /* the watchdog's end, after it closed everything else */

static int   wd_fd = -1; /* the harness's end */
static pid_t wd_pid;
/* Process groups of the running children, for signal handlers. */
static volatile sig_atomic_t live_groups[SUPERVISOR_MAX_GROUPS];

static void live_add(pid_t pgid)
{
        for (int i = 0; i < SUPERVISOR_MAX_GROUPS; i++)
                if (!live_groups[i]) {
                        live_groups[i] = pgid;
                        return;
                }
}

static void live_del(pid_t pgid)
{
        for (int i = 0; i < SUPERVISOR_MAX_GROUPS; i++)
                if (live_groups[i] == pgid)
                        live_groups[i] = 0;
}

/* Async-signal-safe: called between fork and exec and in handlers. */
static void wd_send(int op, pid_t pgid)
{
        struct wd_msg m = {op, (int32_t)pgid};
        if (wd_fd != -1)
                while (send(wd_fd, &m, sizeof(m), MSG_NOSIGNAL) == -1 &&
                       errno == EINTR)
                        ;
}

/* The watchdog's whole life; only async-signal-safe calls (the harness may
 * have had threads when it forked). Runs until the harness's end closes:
 * as long as the harness lives, by design. */
static void __attribute__((noreturn)) watchdog_main(int fd)
{
        static pid_t     groups[SUPERVISOR_MAX_GROUPS * 4];
        static char      paths[WD_MAX_PATHS][WD_PATH_MAX];
        static char      buf[sizeof(struct wd_msg) + WD_PATH_MAX + 1];
        static const int ignored[] = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT,
                                      SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU};
        struct sigaction sa        = {.sa_handler = SIG_IGN};
        sigset_t         none;
        int              n = 0, np = 0;

        /* Its own group: a kill of the harness's group (a CI runner's, a
         * terminal's) leaves it alive to clean up. */
        setpgid(0, 0);
        for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
                sigaction(ignored[i], &sa, NULL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        prctl(PR_SET_NAME, "crmsync-watch");
        if (fd != WD_FD && dup2(fd, WD_FD) == -1)
                _exit(1);
        close_range(WD_FD + 1, ~0U, 0); /* the harness's end among them */
        for (;;) {
                struct wd_msg m;
                ssize_t       k = read(WD_FD, buf, sizeof(buf));
                if (k == -1 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break; /* EOF: the harness is gone */
                if (k < (ssize_t)sizeof(m))
                        continue;
                memcpy(&m, buf, sizeof(m));
                if (m.op == 'P' || m.op == 'Q') {
                        size_t len = (size_t)k - sizeof(m);
                        if (len == 0 || len >= WD_PATH_MAX)
                                continue;
                        buf[k] = '\0';
                        if (m.op == 'P' && np < WD_MAX_PATHS)
                                memcpy(paths[np++], buf + sizeof(m), len + 1);
                        for (int i = 0; m.op == 'Q' && i < np; i++)
                                if (!strcmp(paths[i], buf + sizeof(m))) {
                                        memmove(paths[i], paths[i + 1],
                                                (size_t)(np - i - 1) *
                                                    WD_PATH_MAX);
                                        np--;
                                        break;
                                }
                        continue;
                }
                if (k != (ssize_t)sizeof(m) || m.pgid <= 1)
                        continue;
                if (m.op == '+') {
                        int i;
                        for (i = 0; i < n && groups[i] != m.pgid; i++)
                                ;
                        if (i == n &&
                            n < (int)(sizeof(groups) / sizeof(groups[0])))
                                groups[n++] = m.pgid;
                } else if (m.op == '-') {
                        for (int i = 0; i < n; i++)
                                if (groups[i] == m.pgid)
                                        groups[i--] = groups[--n];
                }
        }
        for (int i = 0; i < n; i++)
                kill(-groups[i], SIGKILL);
        /* In the order given: a directory's files before the directory.
         * The harness removed them itself when it ended normally. */
        for (int i = 0; i < np; i++)
                if (unlink(paths[i]) == -1 && errno == EISDIR)
                        rmdir(paths[i]);
        _exit(0);
}

int crmsync_supervisor_init(char *errstr, size_t errstr_size)
{
        int   sv[2];
        pid_t pid;

        if (wd_fd != -1)
                return 0;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
                return crmsync_err(errstr, errstr_size, "watchdog: %s",
                                   strerror(errno));
        fflush(NULL);
        if ((pid = fork()) == -1) {
                close(sv[0]);
                close(sv[1]);
                return crmsync_err(errstr, errstr_size, "watchdog: fork: %s",
                                   strerror(errno));
        }
        if (pid == 0)
                watchdog_main(sv[1]);
        close(sv[1]);
        wd_fd  = sv[0];
        wd_pid = pid;
        return 0;
}

static void wd_send_path(int op, const char *path)
{
        char          buf[sizeof(struct wd_msg) + WD_PATH_MAX];
        struct wd_msg m   = {op, 0};
        size_t        len = strlen(path);

        if (wd_fd == -1 || len == 0 || len >= WD_PATH_MAX)
                return;
        memcpy(buf, &m, sizeof(m));
        memcpy(buf + sizeof(m), path, len);
        while (send(wd_fd, buf, sizeof(m) + len, MSG_NOSIGNAL) == -1 &&
               errno == EINTR)
                ;
}

void crmsync_supervisor_remove_on_exit(const char *path)
{
        wd_send_path('P', path);
}

void crmsync_supervisor_forget_path(const char *path)
{
        wd_send_path('Q', path);
}

pid_t crmsync_supervisor_watchdog_pid(void)
{
        return wd_pid;
}

void crmsync_supervisor_signal_all(int sig)
{
        for (int i = 0; i < SUPERVISOR_MAX_GROUPS; i++) {
                pid_t g = live_groups[i];
                if (g > 1)
                        kill(-g, sig);
        }
}

/* -- children ---------------------------------------------------------------
 */

int crmsync_child_start(struct child *c, char *errstr, size_t errstr_size)
{
        pid_t parent = getpid();
        pid_t pid;
        int   fd = -1;
        char  wd_err[256];

        if (c->pid)
                return crmsync_err(errstr, errstr_size, "%s: already running",
                                   c->name);
        if (crmsync_supervisor_init(wd_err, sizeof(wd_err)) == -1)
                fprintf(stderr,
                        "crmsync: %s: children rely on their death "
                        "signal alone\n",
                        wd_err);
        if (c->log_path[0] &&
            (fd = open(c->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                       0644)) == -1)
                return crmsync_err(errstr, errstr_size, "%s: %s", c->log_path,
                                   strerror(errno));
        fflush(NULL);
        pid = fork();
        if (pid == -1) {
                if (fd != -1)
                        close(fd);
                return crmsync_err(errstr, errstr_size, "fork: %s",
                                   strerror(errno));
        }
        if (pid == 0) {
                sigset_t none;
                /* Die with the harness, even if it crashes. */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(127);
                setpgid(0, 0);
                /* Registered before exec, so nothing the command starts
                 * can escape the watchdog by being quick. */
                wd_send('+', getpid());
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                signal(SIGPIPE, SIG_DFL);
                signal(SIGINT, SIG_DFL);
                signal(SIGTERM, SIG_DFL);
                if (fd != -1) {
                        dup2(fd, STDOUT_FILENO);
                        dup2(fd, STDERR_FILENO);
                }
                for (int i = 0; c->env[i]; i++)
                        putenv(c->env[i]);
                execv(c->argv[0], c->argv);
                fprintf(stderr, "exec %s: %s\n", c->argv[0], strerror(errno));
                _exit(127);
        }
        /* Set the group from both sides so signals never race the child. */
        setpgid(pid, pid);
        live_add(pid);
        if (fd != -1)
                close(fd);
        c->pid    = pid;
        c->paused = 0;
        c->starts++;
        return 0;
}

void crmsync_child_signal(struct child *c, int sig)
{
        if (!c->pid)
                return;
        if (kill(-c->pid, sig) == -1)
                kill(c->pid, sig);
        if (sig == SIGSTOP)
                c->paused = 1;
        else if (sig == SIGCONT)
                c->paused = 0;
}

/* The leader has exited and is still a zombie, so its pid cannot be
 * reused yet: kill what is left of its group (a wrapper's children), make
 * everyone forget the group, then reap the leader. */
static void child_gone(struct child *c)
{
        int status;
        kill(-c->pid, SIGKILL);
        live_del(c->pid);
        wd_send('-', c->pid);
        if (waitpid(c->pid, &status, 0) == c->pid)
                c->last_status = status;
        c->pid    = 0;
        c->paused = 0;
}

int crmsync_child_reap(struct child *c)
{
        siginfo_t si;
        if (!c->pid)
                return 0;
        /* Look without reaping (see child_gone). */
        memset(&si, 0, sizeof(si));
        if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) ==
                -1 ||
            si.si_pid != c->pid)
                return 0;
        child_gone(c);
        return 1;
}

void crmsync_child_stop(struct child *c, int grace_ms)
{
        if (!c->pid)
                return;
        if (c->paused)
                crmsync_child_signal(c, SIGCONT);
        crmsync_child_signal(c, SIGTERM);
        for (int waited = 0; waited < grace_ms; waited += 20) {
                struct timespec ts = {0, 20 * 1000000};
                if (crmsync_child_reap(c))
                        break;
                nanosleep(&ts, NULL);
        }
        if (c->pid) {
                siginfo_t si;
                crmsync_child_signal(c, SIGKILL);
                /* Wait for the exit without reaping (see child_gone). */
                memset(&si, 0, sizeof(si));
                while (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOWAIT) ==
                           -1 &&
                       errno == EINTR)
                        ;
                child_gone(c);
        }
}

void crmsync_child_free(struct child *c)
{
        for (int i = 0; c->argv[i]; i++) {
                free(c->argv[i]);
                c->argv[i] = NULL;
        }
        for (int i = 0; c->env[i]; i++) {
                free(c->env[i]);
                c->env[i] = NULL;
        }
}
