/* test_supervisor.c -- children never outlive the harness, even through a
 * shell wrapper, and a child's leftover helpers go with it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/supervisor.h"

static void sleep_ms(int ms)
{
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
}

/* A process that exists and is not a zombie. */
static int alive(pid_t pid)
{
        char  path[64], line[256];
        FILE *fp;
        int   z = 0;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        if (!(fp = fopen(path, "r")))
                return 0;
        if (fgets(line, sizeof(line), fp)) {
                char *p = strrchr(line, ')');
                z       = p && (p[2] == 'Z' || p[2] == 'X');
        }
        fclose(fp);
        return !z;
}

/* Wait (bounded) for a pid written to path by a wrapped command. */
static pid_t read_pid(const char *path)
{
        for (int i = 0; i < 250; i++) {
                FILE *fp  = fopen(path, "r");
                int   pid = 0;
                if (fp) {
                        if (fscanf(fp, "%d", &pid) != 1)
                                pid = 0;
                        fclose(fp);
                }
                if (pid > 0)
                        return pid;
                sleep_ms(20);
        }
        return 0;
}

static int gone_within(pid_t pid, int ms)
{
        for (int waited = 0; waited < ms; waited += 20) {
                if (!alive(pid))
                        return 1;
                sleep_ms(20);
        }
        return !alive(pid);
}

/* A shell that runs sleep as its child (not exec) and writes its pid. */
static void wrapped_sleep(struct child *c, const char *pidfile)
{
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "sleep 30 & echo $! > %s; wait", pidfile);
        const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
        memset(c, 0, sizeof(*c));
        snprintf(c->name, sizeof(c->name), "wrapped");
        crmsync_child_set_argv(c, argv);
}

static void test_sigkill_of_harness_kills_wrapped_grandchild(void **state)
{
        char  dir[] = "/tmp/crmsync-sup.XXXXXX", pidfile[128];
        pid_t harness, grandchild;
        (void)state;
        assert_non_null(mkdtemp(dir));
        snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
        harness = fork();
        assert_true(harness != -1);
        if (harness == 0) { /* a stand-in harness */
                struct child c;
                char         err[256];
                wrapped_sleep(&c, pidfile);
                if (crmsync_child_start(&c, err, sizeof(err)) == -1)
                        _exit(1);
                pause();
                _exit(0);
        }
        grandchild = read_pid(pidfile);
        assert_true(grandchild > 0);
        assert_true(alive(grandchild));
        kill(harness, SIGKILL);
        waitpid(harness, NULL, 0);
        /* The stand-in's direct child dies by PR_SET_PDEATHSIG; the sleep
         * it started only by the watchdog's kill of its group. */
        assert_true(gone_within(grandchild, 5000));
        unlink(pidfile);
        rmdir(dir);
}

static void test_reap_kills_what_is_left_of_the_group(void **state)
{
        char         dir[] = "/tmp/crmsync-sup.XXXXXX", pidfile[128];
        struct child c;
        char         err[256];
        pid_t        helper;
        (void)state;
        assert_non_null(mkdtemp(dir));
        snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
        wrapped_sleep(&c, pidfile);
        assert_int_equal(crmsync_child_start(&c, err, sizeof(err)), 0);
        assert_true(crmsync_supervisor_watchdog_pid() > 0);
        helper = read_pid(pidfile);
        assert_true(helper > 0);
        /* The wrapper dies alone; its helper would be orphaned. */
        kill(c.pid, SIGKILL);
        for (int i = 0; i < 250 && !crmsync_child_reap(&c); i++)
                sleep_ms(20);
        assert_int_equal(c.pid, 0);
        assert_true(gone_within(helper, 2000));
        crmsync_child_free(&c);
        unlink(pidfile);
        rmdir(dir);
}

static void test_signal_all_reaches_every_group(void **state)
{
        char         dir[] = "/tmp/crmsync-sup.XXXXXX", pidfile[128];
        struct child c;
        char         err[256];
        pid_t        helper;
        (void)state;
        assert_non_null(mkdtemp(dir));
        snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
        wrapped_sleep(&c, pidfile);
        assert_int_equal(crmsync_child_start(&c, err, sizeof(err)), 0);
        helper = read_pid(pidfile);
        assert_true(helper > 0);
        crmsync_supervisor_signal_all(SIGKILL);
        assert_true(gone_within(helper, 2000));
        crmsync_child_stop(&c, 1000);
        assert_int_equal(c.pid, 0);
        assert_true(WIFSIGNALED(c.last_status));
        crmsync_child_free(&c);
        unlink(pidfile);
        rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_sigkill_of_harness_kills_wrapped_grandchild),
            cmocka_unit_test(test_reap_kills_what_is_left_of_the_group),
            cmocka_unit_test(test_signal_all_reaches_every_group),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
