/* test_tcp_proxy.c -- the L4 fault proxy (fakes/tcpproxy): forwarding,
 * latency, refuse (and the same port back), hang, reset and the
 * connection cap, against an echo server on the same event loop. The test
 * thread drives the loop; its client sockets are non-blocking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crmsync/common.h"
#include "crmsync/tcp_proxy.h"

struct fx {
        struct event_base     *base;
        struct evconnlistener *echo;
        int                    echo_port;
        tcp_proxy_t           *px;
};

static void echo_read(struct bufferevent *b, void *arg)
{
        (void)arg;
        bufferevent_write_buffer(b, bufferevent_get_input(b));
}

static void echo_event(struct bufferevent *b, short what, void *arg)
{
        (void)arg;
        if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
                bufferevent_free(b);
}

static void echo_accept(struct evconnlistener *l, evutil_socket_t fd,
                        struct sockaddr *sa, int len, void *arg)
{
        struct bufferevent *b = bufferevent_socket_new(
            evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);
        (void)sa;
        (void)len;
        (void)arg;
        bufferevent_setcb(b, echo_read, NULL, echo_event, NULL);
        bufferevent_enable(b, EV_READ);
}

static void pump(struct fx *f, int ms)
{
        int64_t until = crmsync_mono_ms() + ms;
        while (crmsync_mono_ms() < until) {
                event_base_loop(f->base, EVLOOP_NONBLOCK);
                usleep(2000);
        }
}

static void fx_start(struct fx *f, int max_conns)
{
        struct sockaddr_in sin = {0};
        socklen_t          len = sizeof(sin);
        char               err[256];

        f->base             = event_base_new();
        sin.sin_family      = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        f->echo =
            evconnlistener_new_bind(f->base, echo_accept, NULL,
                                    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                    16, (struct sockaddr *)&sin, sizeof(sin));
        assert_non_null(f->echo);
        getsockname(evconnlistener_get_fd(f->echo), (struct sockaddr *)&sin,
                    &len);
        f->echo_port = ntohs(sin.sin_port);
        f->px = crmsync_tcp_proxy_new(f->base, 0, f->echo_port, max_conns, err,
                                      sizeof(err));
        assert_non_null(f->px);
        assert_true(crmsync_tcp_proxy_port(f->px) > 0);
}

static void fx_stop(struct fx *f)
{
        crmsync_tcp_proxy_destroy(f->px);
        pump(f, 50); /* the echo server sees its connections close */
        evconnlistener_free(f->echo);
        event_base_free(f->base);
}

/* A non-blocking client connected (or connecting) to the proxy. */
static int client(struct fx *f)
{
        struct sockaddr_in sin = {0};
        int                fd  = socket(AF_INET, SOCK_STREAM, 0);
        sin.sin_family         = AF_INET;
        sin.sin_port           = htons((uint16_t)crmsync_tcp_proxy_port(f->px));
        sin.sin_addr.s_addr    = htonl(INADDR_LOOPBACK);
        fcntl(fd, F_SETFL, O_NONBLOCK);
        connect(fd, (struct sockaddr *)&sin, sizeof(sin));
        pump(f, 30);
        return fd;
}

/* Read what arrived within ms: >0 bytes, 0 EOF, -1 nothing, -2 error. */
static int receive(struct fx *f, int fd, char *buf, size_t size, int ms)
{
        int64_t until = crmsync_mono_ms() + ms;
        while (crmsync_mono_ms() < until) {
                ssize_t n = read(fd, buf, size - 1);
                if (n >= 0) {
                        buf[n > 0 ? n : 0] = '\0';
                        return (int)n;
                }
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                        return -2;
                pump(f, 5);
        }
        return -1;
}

static void test_forwards_both_ways(void **state)
{
        struct fx f;
        char      buf[64];
        (void)state;
        fx_start(&f, 0);
        int fd = client(&f);
        assert_int_equal(write(fd, "hello", 5), 5);
        assert_int_equal(receive(&f, fd, buf, sizeof(buf), 1000), 5);
        assert_string_equal(buf, "hello");
        assert_int_equal(crmsync_tcp_proxy_conns(f.px), 1);
        close(fd);
        pump(&f, 50);
        assert_int_equal(crmsync_tcp_proxy_conns(f.px), 0);
        fx_stop(&f);
}

static void test_latency_both_ways(void **state)
{
        struct fx f;
        char      buf[64];
        (void)state;
        fx_start(&f, 0);
        crmsync_tcp_proxy_set_latency(f.px, 150);
        int     fd = client(&f);
        int64_t t0 = crmsync_mono_ms();
        assert_int_equal(write(fd, "slow", 4), 4);
        assert_int_equal(receive(&f, fd, buf, sizeof(buf), 2000), 4);
        assert_true(crmsync_mono_ms() - t0 >= 290); /* 150 ms each way */
        assert_string_equal(buf, "slow");
        close(fd);
        fx_stop(&f);
}

static void test_refuse_then_same_port(void **state)
{
        struct fx f;
        char      buf[64], err[256];
        (void)state;
        fx_start(&f, 0);
        int port = crmsync_tcp_proxy_port(f.px);
        int fd   = client(&f);
        assert_int_equal(crmsync_tcp_proxy_set_mode(f.px, TCP_PROXY_REFUSE, err,
                                                    sizeof(err)),
                         0);
        /* The open connection is reset, a new one refused. */
        assert_true(receive(&f, fd, buf, sizeof(buf), 500) <= 0);
        close(fd);
        fd = client(&f);
        assert_int_equal(write(fd, "x", 1), -1);
        close(fd);
        assert_int_equal(
            crmsync_tcp_proxy_set_mode(f.px, TCP_PROXY_PASS, err, sizeof(err)),
            0);
        assert_int_equal(crmsync_tcp_proxy_port(f.px), port);
        fd = client(&f);
        assert_int_equal(write(fd, "back", 4), 4);
        assert_int_equal(receive(&f, fd, buf, sizeof(buf), 1000), 4);
        close(fd);
        fx_stop(&f);
}

static void test_hang_holds_then_resets(void **state)
{
        struct fx f;
        char      buf[64], err[256];
        (void)state;
        fx_start(&f, 0);
        int fd = client(&f);
        assert_int_equal(
            crmsync_tcp_proxy_set_mode(f.px, TCP_PROXY_HANG, err, sizeof(err)),
            0);
        assert_int_equal(write(fd, "held", 4), 4);
        assert_int_equal(receive(&f, fd, buf, sizeof(buf), 300), -1);
        int fd2 = client(&f); /* accepted, never forwarded */
        assert_int_equal(write(fd2, "new", 3), 3);
        assert_int_equal(receive(&f, fd2, buf, sizeof(buf), 200), -1);
        assert_int_equal(crmsync_tcp_proxy_conns(f.px), 2);
        crmsync_tcp_proxy_set_mode(f.px, TCP_PROXY_PASS, err, sizeof(err));
        assert_true(receive(&f, fd, buf, sizeof(buf), 500) <= 0);
        assert_true(receive(&f, fd2, buf, sizeof(buf), 500) <= 0);
        assert_int_equal(crmsync_tcp_proxy_conns(f.px), 0);
        close(fd);
        close(fd2);
        fx_stop(&f);
}

static void test_reset_and_cap(void **state)
{
        struct fx f;
        char      buf[64], err[256];
        (void)state;
        fx_start(&f, 2);
        int a = client(&f), b = client(&f), c = client(&f);
        assert_int_equal(crmsync_tcp_proxy_conns(f.px), 2);
        assert_true(receive(&f, c, buf, sizeof(buf), 300) <= 0); /* over cap */
        close(c);
        crmsync_tcp_proxy_set_mode(f.px, TCP_PROXY_RESET, err, sizeof(err));
        assert_true(receive(&f, a, buf, sizeof(buf), 300) <= 0);
        assert_true(receive(&f, b, buf, sizeof(buf), 300) <= 0);
        int d = client(&f);
        assert_true(receive(&f, d, buf, sizeof(buf), 300) <= 0);
        assert_int_equal(crmsync_tcp_proxy_conns(f.px), 0);
        assert_true(crmsync_tcp_proxy_accepted(f.px) >= 4);
        close(a);
        close(b);
        close(d);
        fx_stop(&f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_forwards_both_ways),
            cmocka_unit_test(test_latency_both_ways),
            cmocka_unit_test(test_refuse_then_same_port),
            cmocka_unit_test(test_hang_holds_then_resets),
            cmocka_unit_test(test_reset_and_cap),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
