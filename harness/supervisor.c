/* supervisor.c -- start, signal, stop and reap child processes. */
#include "crmsync/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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

void crmsync_child_setenv(struct child *c, const char *name,
                          const char *value)
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

int crmsync_child_start(struct child *c, char *errstr, size_t errstr_size)
{
        pid_t parent = getpid();
        pid_t pid;
        int   fd = -1;

        if (c->pid)
                return crmsync_err(errstr, errstr_size, "%s: already running",
                                   c->name);
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
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                signal(SIGPIPE, SIG_DFL);
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

int crmsync_child_reap(struct child *c)
{
        int status;
        if (!c->pid)
                return 0;
        if (waitpid(c->pid, &status, WNOHANG) != c->pid)
                return 0;
        c->last_status = status;
        c->pid         = 0;
        c->paused      = 0;
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
                int status;
                crmsync_child_signal(c, SIGKILL);
                if (waitpid(c->pid, &status, 0) == c->pid)
                        c->last_status = status;
                c->pid = 0;
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
