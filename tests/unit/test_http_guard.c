/* test_http_guard.c -- the HTTP guard: evhttp's own HTML error pages become
 * JSON errors (400, 431, 413, 501), and nothing else is touched: normal
 * answers, pipelined answers, a handler's own error. Raw sockets against an
 * evhttp server on the test's loop (non-blocking, pumped by hand). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crmsync/common.h"
#include "crmsync/http_guard.h"

struct srv {
        struct event_base *base;
        struct evhttp     *http;
        http_guard_t      *guard;
        int                port;
};

/* /ok -> 200 JSON; /teapot -> the handler's own 418 JSON error. */
static void handler(struct evhttp_request *req, void *arg)
{
        const char      *uri = evhttp_request_get_uri(req);
        struct evbuffer *b   = evbuffer_new();
        int              tea = !strcmp(uri, "/teapot");
        (void)arg;
        evbuffer_add_printf(b, tea ? "{\"error\":\"teapot\"}" : "{\"ok\":1}");
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "Content-Type", "application/json");
        evhttp_send_reply(req, tea ? 418 : 200, tea ? "Teapot" : "OK", b);
        evbuffer_free(b);
}

static void srv_start(struct srv *s)
{
        struct sockaddr_in          sin;
        socklen_t                   sl = sizeof(sin);
        struct evhttp_bound_socket *bs;

        s->base  = event_base_new();
        s->http  = evhttp_new(s->base);
        s->guard = crmsync_http_guard_new(s->http, 1024, 2048);
        assert_non_null(s->guard);
        evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
        evhttp_set_gencb(s->http, handler, s);
        bs = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
        assert_non_null(bs);
        getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin,
                    &sl);
        s->port = ntohs(sin.sin_port);
}

static void srv_stop(struct srv *s)
{
        evhttp_free(s->http);
        crmsync_http_guard_free(s->guard); /* after its connections */
        event_base_free(s->base);
}

/* Send req (all of it, pumping the loop), read until the server closes
 * or 3 s pass. Returns the answer (caller frees). */
static char *exchange(struct srv *s, const char *req, size_t len)
{
        struct sockaddr_in sin = {0};
        int                fd  = socket(AF_INET, SOCK_STREAM, 0);
        size_t             off = 0, cap = 1 << 16, got = 0;
        char              *out = calloc(1, cap + 1);
        int64_t            end = crmsync_mono_ms() + 3000;

        sin.sin_family      = AF_INET;
        sin.sin_port        = htons((uint16_t)s->port);
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
        while (crmsync_mono_ms() < end) {
                if (off < len) {
                        ssize_t n = send(fd, req + off, len - off,
                                         MSG_DONTWAIT | MSG_NOSIGNAL);
                        if (n > 0)
                                off += (size_t)n;
                        else if (n < 0 && errno != EAGAIN)
                                off = len; /* refused mid-way */
                }
                event_base_loop(s->base, EVLOOP_NONBLOCK);
                ssize_t n = recv(fd, out + got, cap - got, MSG_DONTWAIT);
                if (n > 0)
                        got += (size_t)n;
                else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                        break; /* closed */
                else
                        usleep(1000);
        }
        close(fd);
        out[got] = '\0';
        return out;
}

static void expect_json_error(const char *out, const char *status_line,
                              const char *code)
{
        const char *body = strstr(out, "\r\n\r\n");
        json_t     *j;

        assert_non_null(body);
        assert_memory_equal(out, status_line, strlen(status_line));
        assert_non_null(strstr(out, "Content-Type: application/json"));
        assert_null(strstr(out, "<HTML>"));
        j = json_loads(body + 4, 0, NULL);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "error")),
                            code);
        assert_true(json_is_string(json_object_get(j, "message")));
        json_decref(j);
}

static void test_fires_on_evhttp_pages(void **state)
{
        struct srv s;
        char      *out, *big;
        (void)state;

        srv_start(&s);
        out = exchange(&s, "GARBAGE\r\n\r\n", 11);
        expect_json_error(out, "HTTP/1.1 400 ", "bad_request");
        free(out);

        out = exchange(&s, "PUT /ok HTTP/1.1\r\n\r\n", 20);
        expect_json_error(out, "HTTP/1.1 501 ", "not_implemented");
        free(out);

        big = malloc(4096);
        memcpy(big, "GET /ok HTTP/1.1\r\nX-A: ", 23);
        memset(big + 23, 'a', 4096 - 23);
        out = exchange(&s, big, 4096);
        expect_json_error(out, "HTTP/1.1 431 ", "header_too_large");
        free(out);
        free(big);

        const char *post = "POST /ok HTTP/1.1\r\nContent-Length: 5000\r\n\r\n";
        out              = exchange(&s, post, strlen(post));
        expect_json_error(out, "HTTP/1.1 413 ", "body_too_large");
        free(out);
        assert_int_equal(crmsync_http_guard_rewritten(s.guard), 4);
        srv_stop(&s);
}

static void test_quiet_on_normal_answers(void **state)
{
        struct srv  s;
        char       *out;
        const char *two = "GET /ok HTTP/1.1\r\n\r\n"
                          "GET /teapot HTTP/1.1\r\nConnection: close\r\n\r\n";
        (void)state;

        srv_start(&s);
        /* Pipelined: a normal answer, then the handler's own error. */
        out = exchange(&s, two, strlen(two));
        assert_memory_equal(out, "HTTP/1.1 200 OK\r\n", 17);
        assert_non_null(strstr(out, "{\"ok\":1}HTTP/1.1 418 Teapot\r\n"));
        assert_non_null(strstr(out, "{\"error\":\"teapot\"}"));
        free(out);
        /* A malformed request after a good one on the same connection:
         * the good answer stays whole, the error becomes JSON. */
        const char *then_bad = "GET /ok HTTP/1.1\r\n\r\nBAD\r\n\r\n";
        out                  = exchange(&s, then_bad, strlen(then_bad));
        assert_memory_equal(out, "HTTP/1.1 200 OK\r\n", 17);
        char *second = strstr(out, "{\"ok\":1}");
        assert_non_null(second);
        expect_json_error(second + 8, "HTTP/1.1 400 ", "bad_request");
        free(out);
        assert_int_equal(crmsync_http_guard_rewritten(s.guard), 1);
        srv_stop(&s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_fires_on_evhttp_pages),
            cmocka_unit_test(test_quiet_on_normal_answers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
