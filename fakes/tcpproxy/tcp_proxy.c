/* tcp_proxy.c -- a small L4 fault proxy on 127.0.0.1 (tcp_proxy.h):
 * forward, refuse, hang, reset, and latency per chunk, on bufferevents. */
#include "crmsync/tcp_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crmsync/common.h"

struct chunk {
        int64_t          due_ms;
        struct evbuffer *buf;
        struct chunk    *next;
};

/* One direction: bytes read from `from`, written to `to`. */
struct lane {
        struct bufferevent *from, *to;
        struct chunk       *head, *tail; /* delayed chunks, in order */
        size_t              queued;
        struct event       *timer;
};

struct pconn {
        struct tcp_proxy *px;
        struct pconn     *prev, *next;
        struct lane       lane[2]; /* 0: client -> server, 1: back */
        int               held;    /* accepted during a hang */
};

struct tcp_proxy {
        struct event_base     *base;
        struct evconnlistener *lis;
        int                    port, upstream_port, max_conns;
        enum tcp_proxy_mode    mode;
        uint32_t               latency_ms;
        struct pconn          *conns;
        int                    nconns;
        uint64_t               accepted;
};

static void lane_clear(struct lane *l)
{
        while (l->head) {
                struct chunk *c = l->head;
                l->head         = c->next;
                evbuffer_free(c->buf);
                free(c);
        }
        l->tail   = NULL;
        l->queued = 0;
        if (l->timer)
                event_free(l->timer);
        l->timer = NULL;
}

/* Close a socket with RST instead of FIN (SO_LINGER 0). */
static void reset_fd(evutil_socket_t fd)
{
        struct linger lg = {1, 0};
        if (fd >= 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/* Close both ends (reset = RST). */
static void conn_close(struct pconn *c, int reset)
{
        struct tcp_proxy *px = c->px;
        for (int i = 0; i < 2; i++)
                lane_clear(&c->lane[i]);
        for (int i = 0; i < 2; i++) {
                struct bufferevent *b = c->lane[i].from;
                if (!b)
                        continue;
                if (reset)
                        reset_fd(bufferevent_getfd(b));
                bufferevent_free(b); /* BEV_OPT_CLOSE_ON_FREE */
        }
        if (c->prev)
                c->prev->next = c->next;
        else
                px->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        px->nconns--;
        free(c);
}

static void close_all(struct tcp_proxy *px, int reset)
{
        while (px->conns)
                conn_close(px->conns, reset);
}

/* Reading from lane l's source is allowed now? */
static void lane_flow(struct pconn *c, struct lane *l)
{
        if (!l->from)
                return;
        if (c->px->mode == TCP_PROXY_HANG || c->held || !l->to ||
            l->queued > TCP_PROXY_QUEUE_MAX ||
            evbuffer_get_length(bufferevent_get_output(l->to)) >
                TCP_PROXY_QUEUE_MAX)
                bufferevent_disable(l->from, EV_READ);
        else
                bufferevent_enable(l->from, EV_READ);
}

static void lane_timer_cb(evutil_socket_t fd, short what, void *arg);

static void lane_arm(struct pconn *c, struct lane *l)
{
        int64_t        left;
        struct timeval tv;
        if (!l->head)
                return;
        if (!l->timer &&
            !(l->timer = evtimer_new(c->px->base, lane_timer_cb, c)))
                return;
        left = l->head->due_ms - crmsync_mono_ms();
        if (left < 0)
                left = 0;
        tv.tv_sec  = (time_t)(left / 1000);
        tv.tv_usec = (suseconds_t)((left % 1000) * 1000);
        evtimer_add(l->timer, &tv);
}

static void lane_timer_cb(evutil_socket_t fd, short what, void *arg)
{
        struct pconn *c   = arg;
        int64_t       now = crmsync_mono_ms();
        (void)fd;
        (void)what;
        for (int i = 0; i < 2; i++) {
                struct lane *l = &c->lane[i];
                while (l->head && l->head->due_ms <= now && l->to) {
                        struct chunk *ch = l->head;
                        l->head          = ch->next;
                        if (!l->head)
                                l->tail = NULL;
                        l->queued -= evbuffer_get_length(ch->buf);
                        bufferevent_write_buffer(l->to, ch->buf);
                        evbuffer_free(ch->buf);
                        free(ch);
                }
                lane_arm(c, l);
                lane_flow(c, l);
        }
}

static void read_cb(struct bufferevent *b, void *arg)
{
        struct pconn    *c  = arg;
        struct lane     *l  = b == c->lane[0].from ? &c->lane[0] : &c->lane[1];
        struct evbuffer *in = bufferevent_get_input(b);

        if (c->px->mode == TCP_PROXY_HANG || c->held || !l->to) {
                bufferevent_disable(b, EV_READ);
                return;
        }
        if (!c->px->latency_ms) {
                bufferevent_write_buffer(l->to, in);
        } else {
                struct chunk *ch = calloc(1, sizeof(*ch));
                if (!ch || !(ch->buf = evbuffer_new())) {
                        free(ch);
                        conn_close(c, 1);
                        return;
                }
                ch->due_ms = crmsync_mono_ms() + c->px->latency_ms;
                l->queued += evbuffer_get_length(in);
                evbuffer_add_buffer(ch->buf, in);
                if (l->tail)
                        l->tail->next = ch;
                else
                        l->head = ch;
                l->tail = ch;
                if (!l->timer || !evtimer_pending(l->timer, NULL))
                        lane_arm(c, l);
        }
        lane_flow(c, l);
}

/* The other side's output drained: its source may read again. */
static void write_cb(struct bufferevent *b, void *arg)
{
        struct pconn *c = arg;
        struct lane  *l = b == c->lane[0].to ? &c->lane[0] : &c->lane[1];
        lane_flow(c, l);
}

static void event_cb(struct bufferevent *b, short what, void *arg)
{
        struct pconn *c = arg;
        (void)b;
        if (what & BEV_EVENT_CONNECTED) {
                lane_flow(c, &c->lane[0]);
                lane_flow(c, &c->lane[1]);
                return;
        }
        if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
                conn_close(c, (what & BEV_EVENT_ERROR) != 0);
}

static int connect_upstream(struct pconn *c)
{
        struct sockaddr_in  sin = {0};
        struct bufferevent *up;

        up = bufferevent_socket_new(c->px->base, -1, BEV_OPT_CLOSE_ON_FREE);
        if (!up)
                return -1;
        sin.sin_family      = AF_INET;
        sin.sin_port        = htons((uint16_t)c->px->upstream_port);
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        c->lane[0].to       = up;
        c->lane[1].from     = up;
        bufferevent_setcb(up, read_cb, write_cb, event_cb, c);
        bufferevent_setwatermark(up, EV_WRITE, 0, 0);
        if (bufferevent_socket_connect(up, (struct sockaddr *)&sin,
                                       sizeof(sin)) == -1)
                return -1; /* freed with the connection */
        return 0;
}

static void accept_cb(struct evconnlistener *lis, evutil_socket_t fd,
                      struct sockaddr *sa, int salen, void *arg)
{
        struct tcp_proxy   *px = arg;
        struct pconn       *c;
        struct bufferevent *down;
        (void)lis;
        (void)sa;
        (void)salen;

        px->accepted++;
        if (px->mode == TCP_PROXY_RESET || px->nconns >= px->max_conns ||
            !(c = calloc(1, sizeof(*c)))) {
                reset_fd(fd);
                evutil_closesocket(fd);
                return;
        }
        down = bufferevent_socket_new(px->base, fd, BEV_OPT_CLOSE_ON_FREE);
        if (!down) {
                evutil_closesocket(fd);
                free(c);
                return;
        }
        c->px           = px;
        c->lane[0].from = down;
        c->lane[1].to   = down;
        c->next         = px->conns;
        if (px->conns)
                px->conns->prev = c;
        px->conns = c;
        px->nconns++;
        bufferevent_setcb(down, read_cb, write_cb, event_cb, c);
        bufferevent_setwatermark(down, EV_WRITE, 0, 0);
        if (px->mode == TCP_PROXY_HANG) {
                c->held = 1; /* accepted, never forwarded */
                bufferevent_disable(down, EV_READ);
                return;
        }
        if (connect_upstream(c) == -1) {
                conn_close(c, 1);
                return;
        }
        lane_flow(c, &c->lane[0]);
}

static int listen_on(struct tcp_proxy *px, int port, char *errstr,
                     size_t errstr_size)
{
        struct sockaddr_in sin = {0};
        socklen_t          len = sizeof(sin);

        sin.sin_family      = AF_INET;
        sin.sin_port        = htons((uint16_t)port);
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        px->lis             = evconnlistener_new_bind(
                        px->base, accept_cb, px,
                        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                        64, (struct sockaddr *)&sin, sizeof(sin));
        if (!px->lis)
                return crmsync_err(errstr, errstr_size,
                                   "tcp proxy: bind 127.0.0.1:%d: %s", port,
                                   strerror(errno));
        if (getsockname(evconnlistener_get_fd(px->lis), (struct sockaddr *)&sin,
                        &len) == 0)
                px->port = ntohs(sin.sin_port);
        return 0;
}

tcp_proxy_t *crmsync_tcp_proxy_new(struct event_base *base, int port,
                                   int upstream_port, int max_conns,
                                   char *errstr, size_t errstr_size)
{
        struct tcp_proxy *px;

        if (upstream_port <= 0 || upstream_port > 65535 || port < 0 ||
            port > 65535) {
                crmsync_err(errstr, errstr_size, "tcp proxy: bad port");
                return NULL;
        }
        if (!(px = calloc(1, sizeof(*px)))) {
                crmsync_err(errstr, errstr_size, "tcp proxy: out of memory");
                return NULL;
        }
        px->base          = base;
        px->upstream_port = upstream_port;
        px->max_conns     = max_conns > 0 ? max_conns : 64;
        if (listen_on(px, port, errstr, errstr_size)) {
                free(px);
                return NULL;
        }
        return px;
}

void crmsync_tcp_proxy_destroy(tcp_proxy_t *px)
{
        if (!px)
                return;
        close_all(px, 0);
        if (px->lis)
                evconnlistener_free(px->lis);
        free(px);
}

int crmsync_tcp_proxy_port(const tcp_proxy_t *px)
{
        return px->port;
}

int crmsync_tcp_proxy_conns(const tcp_proxy_t *px)
{
        return px->nconns;
}

uint64_t crmsync_tcp_proxy_accepted(const tcp_proxy_t *px)
{
        return px->accepted;
}

int crmsync_tcp_proxy_set_mode(tcp_proxy_t *px, enum tcp_proxy_mode mode,
                               char *errstr, size_t errstr_size)
{
        enum tcp_proxy_mode was = px->mode;

        px->mode = mode;
        if (mode == TCP_PROXY_REFUSE || mode == TCP_PROXY_RESET ||
            (was == TCP_PROXY_HANG && mode != TCP_PROXY_HANG))
                close_all(px, 1); /* a hang's held connections too */
        if (mode == TCP_PROXY_REFUSE && px->lis) {
                evconnlistener_free(px->lis);
                px->lis = NULL;
        } else if (mode != TCP_PROXY_REFUSE && !px->lis) {
                int tries = 0;
                while (listen_on(px, px->port, errstr, errstr_size)) {
                        if (++tries >= 20)
                                return -1;
                        usleep(50 * 1000); /* TIME_WAIT: bounded */
                }
        }
        if (mode == TCP_PROXY_HANG)
                for (struct pconn *c = px->conns; c; c = c->next)
                        for (int i = 0; i < 2; i++)
                                lane_flow(c, &c->lane[i]);
        return 0;
}

void crmsync_tcp_proxy_set_latency(tcp_proxy_t *px, uint32_t latency_ms)
{
        px->latency_ms = latency_ms;
}
