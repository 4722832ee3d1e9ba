/* supervisor.h -- child processes of the harness (connector, profiler, or a
 * user's command).
 *
 * Children never outlive the harness, whatever the command's shape:
 * - each child runs in its own process group, so a signal reaches its
 *   helpers too (a `sh -c 'a; b'` wrapper and the program it runs);
 * - a watchdog process, forked once (crmsync_supervisor_init), holds one
 *   end of a socket whose other end only the harness holds. Every child
 *   registers its group with the watchdog before it execs. When the
 *   harness dies, however it dies (SIGKILL included), the watchdog reads
 *   EOF, kills every registered group with SIGKILL and exits;
 * - the direct child also has PR_SET_PDEATHSIG (SIGKILL), in case the
 *   watchdog itself was killed.
 * A descendant that leaves its group on purpose (setsid, setpgid) is out
 * of reach: only a cgroup would hold it, and the harness does not assume
 * it may create one.
 * Fork only from the main thread: the death signal is tied to the forking
 * thread. */
#ifndef CRMSYNC_SUPERVISOR_H
#define CRMSYNC_SUPERVISOR_H

#include <sys/types.h>

#define SUPERVISOR_MAX_ARGS 64
#define SUPERVISOR_MAX_ENV 32
/* Children alive at the same time (the watchdog's registry). */
#define SUPERVISOR_MAX_GROUPS 64

struct child {
        char  name[32];
        char *argv[SUPERVISOR_MAX_ARGS]; /* owned, NULL-terminated */
        char *env[SUPERVISOR_MAX_ENV];   /* "K=V" added to the environment,
                                          * owned */
        char  log_path[1024];            /* stdout+stderr appended here */
        pid_t pid;                       /* 0 when not running */
        int   paused;
        int   starts;      /* how often it was started */
        int   last_status; /* wait status of the last exit */
        long  log_start;   /* size of its log when it last started */
};

/* Fork the watchdog (see above). Call it early, while the process has one
 * thread and few descriptors; crmsync_child_start calls it when nobody
 * did. Idempotent. Returns 0, or -1 + errstr (children then rely on
 * PR_SET_PDEATHSIG alone). */
int crmsync_supervisor_init(char *errstr, size_t errstr_size);
/* Have the watchdog remove path (a file, or an empty directory) if the
 * harness dies without removing it itself (SIGKILL, a crash). Paths are
 * removed in the order given: register a directory's files first. At most
 * 16 paths; a no-op without a watchdog. path is copied. */
void crmsync_supervisor_remove_on_exit(const char *path);
/* Take path off that list (the harness removed it itself). */
void crmsync_supervisor_forget_path(const char *path);
/* Pid of the watchdog, 0 when there is none. */
pid_t crmsync_supervisor_watchdog_pid(void);
/* Send sig to the process group of every running child. Async-signal-safe:
 * a signal handler may call it (a second Ctrl-C escalates to SIGKILL). */
void crmsync_supervisor_signal_all(int sig);

/* Fill argv from a NULL-terminated list (copied). */
void crmsync_child_set_argv(struct child *c, const char *const *argv);
/* Add "name=value" to the child's environment (copied). */
void crmsync_child_setenv(struct child *c, const char *name, const char *value);
/* Start it. Returns 0, or -1 + errstr. */
int crmsync_child_start(struct child *c, char *errstr, size_t errstr_size);
/* Send sig to the child's process group. No-op when not running. */
void crmsync_child_signal(struct child *c, int sig);
/* SIGTERM, wait up to grace_ms, then SIGKILL; reaps it. */
void crmsync_child_stop(struct child *c, int grace_ms);
/* Reap without blocking: returns 1 and clears pid when it has exited.
 * What is left of its process group (helpers the child started) is killed
 * with SIGKILL before the child is reaped. */
int crmsync_child_reap(struct child *c);
/* Free the copies set_argv and setenv made; the struct itself stays the
 * caller's (it is usually embedded). Safe to call twice. */
void crmsync_child_free(struct child *c);

#endif
