/* supervisor.h -- child processes of the harness (connector, profiler, or a
 * user's command). Each child runs in its own process group (so a kill
 * reaches its helpers) with PR_SET_PDEATHSIG, so it dies with the harness
 * even when the harness crashes. Fork only from the main thread: the death
 * signal is tied to the forking thread. */
#ifndef CRMSYNC_SUPERVISOR_H
#define CRMSYNC_SUPERVISOR_H

#include <sys/types.h>

#define SUPERVISOR_MAX_ARGS 64
#define SUPERVISOR_MAX_ENV  32

struct child {
        char  name[32];
        char *argv[SUPERVISOR_MAX_ARGS]; /* owned, NULL-terminated */
        char *env[SUPERVISOR_MAX_ENV];   /* "K=V" added to the environment */
        char  log_path[1024];             /* stdout+stderr appended here */
        pid_t pid;                       /* 0 when not running */
        int   paused;
        int   starts;       /* how often it was started */
        int   last_status;  /* wait status of the last exit */
};

/* Fill argv from a NULL-terminated list (copied). */
void crmsync_child_set_argv(struct child *c, const char *const *argv);
/* Add "name=value" to the child's environment (copied). */
void crmsync_child_setenv(struct child *c, const char *name,
                          const char *value);
/* Start it. Returns 0, or -1 + errstr. */
int  crmsync_child_start(struct child *c, char *errstr, size_t errstr_size);
/* Send sig to the child's process group. No-op when not running. */
void crmsync_child_signal(struct child *c, int sig);
/* SIGTERM, wait up to grace_ms, then SIGKILL; reaps it. */
void crmsync_child_stop(struct child *c, int grace_ms);
/* Reap without blocking: returns 1 and clears pid when it has exited. */
int  crmsync_child_reap(struct child *c);
void crmsync_child_free(struct child *c);

#endif
