/* tcp_proxy.h -- a small L4 fault proxy (fakes/tcpproxy): 127.0.0.1 only.
 *
 * It listens on 127.0.0.1 (a free port) and forwards every connection to
 * 127.0.0.1:upstream_port, byte for byte, both ways. Its modes put faults
 * between a client and a server that know nothing of them (the postgres
 * sink's outages and latency, docs/sink-postgres.md):
 *   pass    forward (latency_ms added to each chunk, both ways, in order)
 *   refuse  the listener is closed (connection refused) and the open
 *           connections are reset; when the mode ends the same port is
 *           bound again
 *   hang    connections are accepted and nothing is forwarded; when the
 *           mode ends the held connections are reset
 *   reset   every connection is reset at once (new ones too)
 * Bounded: at most max_conns connections (more are reset), at most
 * TCP_PROXY_QUEUE_MAX bytes queued per direction (reading stops above).
 * Runs on the caller's event_base; call it from that thread. */
#ifndef CRMSYNC_TCP_PROXY_H
#define CRMSYNC_TCP_PROXY_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#define TCP_PROXY_QUEUE_MAX (4u << 20)

enum tcp_proxy_mode {
        TCP_PROXY_PASS,
        TCP_PROXY_REFUSE,
        TCP_PROXY_HANG,
        TCP_PROXY_RESET,
};

typedef struct tcp_proxy tcp_proxy_t;

/* Listen on 127.0.0.1 (port 0 = a free one) and forward to
 * 127.0.0.1:upstream_port. base is borrowed and must outlive the proxy.
 * NULL + errstr on failure; free with crmsync_tcp_proxy_destroy. */
tcp_proxy_t *crmsync_tcp_proxy_new(struct event_base *base, int port,
                                   int upstream_port, int max_conns,
                                   char *errstr, size_t errstr_size);
void         crmsync_tcp_proxy_destroy(tcp_proxy_t *p); /* accepts NULL */
int          crmsync_tcp_proxy_port(const tcp_proxy_t *p);
/* Switch modes (see above). Returns 0, or -1 + errstr (the port could not
 * be bound again after refuse). */
int  crmsync_tcp_proxy_set_mode(tcp_proxy_t *p, enum tcp_proxy_mode mode,
                                char *errstr, size_t errstr_size);
void crmsync_tcp_proxy_set_latency(tcp_proxy_t *p, uint32_t latency_ms);
/* Connections open now, and accepted since the start. */
int      crmsync_tcp_proxy_conns(const tcp_proxy_t *p);
uint64_t crmsync_tcp_proxy_accepted(const tcp_proxy_t *p);

#endif
