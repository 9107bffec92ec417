/* echo.c - the Echo Protocol (RFC 862) and the Discard Protocol (RFC 863), over UDP and TCP.
 *
 * Echo sends back everything it receives; discard throws it away. They are the simplest
 * servers there are, which makes them the first thing to point `nc` at, and a fair
 * benchmark: all the work is in the stack.
 *
 * TCP echo shows flow control from the application's side: it reads no more than the send
 * buffer has room for, and stops reading until on_writable says there is room again. A
 * reader that stops reading slows the writer down; nothing grows without bound. Since
 * every read is echoed at once, one buffer serves all connections: an idle connection
 * costs a few dozen bytes here.
 *
 * UDP echo never answers a datagram from a port below 1024 (see udp_reply_allowed).
 */
#include "apps.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 65536

/* Ports below this are services, not clients (clients send from ephemeral ports). */
#define LOWEST_CLIENT_PORT 1024

struct service {
    struct stack *stack;
    uint8_t buf[CHUNK]; /* shared by all connections: each read is echoed at once */
    struct sock *udp, *tcp;
    bool echo;                      /* false: discard */
    struct conn *conns;             /* open TCP connections, freed by service_stop */
    uint64_t udp_from_service_port; /* datagrams not answered: they came from a service */
};

struct conn {
    struct service *svc;
    struct sock *sock;
    struct conn *prev, *next;
    uint8_t *pending; /* echo bytes TCP refused (out of memory), or NULL */
    size_t pending_off, pending_len;
    bool peer_done; /* the peer sent FIN */
};

/* ---- UDP: one datagram in, the same datagram back (echo) or nothing (discard) ---- */

/* UDP echo answers whoever the source claims to be, and UDP sources are easy to forge: a
 * datagram "from" another host's echo (7), discard (9), daytime (13) or chargen (19) port
 * makes two services answer each other forever (the UDP ping-pong of CERT CA-1996-01).
 * FreeBSD's inetd refuses sources that are its own built-in services' ports; we take the
 * simpler, broader rule: no answer to any port below 1024 (or port 0, which cannot be
 * answered at all). A real client sends from an ephemeral port. */
static bool udp_reply_allowed(struct service *svc, uint16_t port)
{
    if (port >= LOWEST_CLIENT_PORT)
        return true;
    svc->udp_from_service_port++;
    trace(svc->stack, TRACE_APP, "echo: no answer to port %u (a service port, < %u)", port,
          LOWEST_CLIENT_PORT);
    return false;
}

static void udp_readable(struct sock *s, void *ctx)
{
    struct service *svc = ctx;
    static const size_t max = 65507;
    uint8_t *buf = malloc(max);
    if (!buf)
        return;
    uint32_t ip;
    uint16_t port;
    ssize_t n;
    /* bounded: at most the socket's queue, so one busy socket cannot starve the others */
    for (int i = 0; i < 256 && (n = sock_recvfrom(s, buf, max, &ip, &port)) != -EAGAIN; i++) {
        if (n >= 0 && svc->echo && udp_reply_allowed(svc, port))
            sock_sendto(s, buf, (size_t)n, ip, port);
    }
    free(buf);
}

/* ---- TCP ---- */

static void conn_close(struct conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->svc->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    sock_close(c->sock);
    free(c->pending);
    free(c);
}

/* Send what is pending; true when nothing is left. */
static bool flush_pending(struct conn *c)
{
    while (c->pending_len) {
        ssize_t n = sock_send(c->sock, c->pending + c->pending_off, c->pending_len);
        if (n <= 0)
            return false;
        c->pending_off += (size_t)n;
        c->pending_len -= (size_t)n;
    }
    free(c->pending);
    c->pending = NULL;
    return true;
}

/* Echo n bytes from the shared buffer; what TCP does not take (it had no memory) is kept
 * for later. False when the connection had to be closed. */
static bool echo_back(struct conn *c, const uint8_t *buf, size_t n)
{
    ssize_t sent = sock_send(c->sock, buf, n);
    size_t done = sent > 0 ? (size_t)sent : 0;
    if (done == n)
        return true;
    c->pending = malloc(n - done);
    if (!c->pending) {
        conn_close(c); /* cannot keep the echo: better closed than silently short */
        return false;
    }
    memcpy(c->pending, buf + done, n - done);
    c->pending_off = 0;
    c->pending_len = n - done;
    return true;
}

static void conn_readable(struct sock *s, void *ctx)
{
    struct conn *c = ctx;
    struct service *svc = c->svc;
    for (int i = 0; i < 64; i++) { /* bounded per event; TCP calls again when more arrives */
        if (!flush_pending(c))
            return; /* wait for on_writable: the peer is not reading fast enough */
        size_t want = sizeof(svc->buf);
        if (svc->echo && sock_send_space(s) < want)
            want = sock_send_space(s);
        if (want == 0)
            return; /* the send buffer is full: on_writable calls again */
        ssize_t n = sock_recv(s, svc->buf, want);
        if (n == -EAGAIN)
            return;
        if (n <= 0) { /* end of stream (or an error): all echoed, so we close too */
            conn_close(c);
            return;
        }
        if (svc->echo && !echo_back(c, svc->buf, (size_t)n))
            return;
    }
}

static void conn_writable(struct sock *s, void *ctx)
{
    conn_readable(s, ctx); /* flush, then read on */
}

static void conn_closed(struct sock *s, void *ctx)
{
    struct conn *c = ctx;
    c->peer_done = true;
    conn_readable(s, ctx); /* reads the rest, sees 0, closes */
}

static void conn_error(struct sock *s, int err, void *ctx)
{
    (void)s, (void)err;
    conn_close(ctx);
}

static const struct sock_events conn_events = {
    .on_readable = conn_readable,
    .on_writable = conn_writable,
    .on_closed = conn_closed,
    .on_error = conn_error,
};

static void tcp_accept_all(struct sock *listener, void *ctx)
{
    struct service *svc = ctx;
    struct sock *s;
    while (sock_accept(listener, &s) == 0) {
        struct conn *c = calloc(1, sizeof(*c));
        if (!c) {
            sock_abort(s);
            continue;
        }
        c->svc = svc;
        c->sock = s;
        c->next = svc->conns;
        if (svc->conns)
            svc->conns->prev = c;
        svc->conns = c;
        sock_on(s, &conn_events, c);
        conn_readable(s, c); /* data may have come with the handshake */
    }
}

static const struct sock_events listener_events = {.on_accept = tcp_accept_all};
static const struct sock_events udp_events = {.on_readable = udp_readable};

static struct service *service_start(struct stack *stack, uint16_t port, bool echo, int *err)
{
    struct service *svc = calloc(1, sizeof(*svc));
    if (!svc) {
        *err = -ENOMEM;
        return NULL;
    }
    svc->stack = stack;
    svc->echo = echo;
    svc->udp = sock_open(stack, SOCK_TYPE_UDP);
    if (!svc->udp || (*err = sock_bind(svc->udp, 0, port)) < 0)
        goto fail;
    sock_on(svc->udp, &udp_events, svc);
    svc->tcp = sock_open(stack, SOCK_TYPE_TCP);
    if (!svc->tcp || (*err = sock_bind(svc->tcp, 0, port)) < 0 ||
        (*err = sock_listen(svc->tcp, 128)) < 0)
        goto fail;
    sock_on(svc->tcp, &listener_events, svc);
    return svc;
fail:
    if (!*err)
        *err = -ENOMEM;
    if (svc->udp)
        sock_close(svc->udp);
    if (svc->tcp)
        sock_close(svc->tcp);
    free(svc);
    return NULL;
}

struct service *echo_start(struct stack *stack, uint16_t port, int *err)
{
    return service_start(stack, port, true, err);
}

struct service *discard_start(struct stack *stack, uint16_t port, int *err)
{
    return service_start(stack, port, false, err);
}

void service_print_stats(const struct service *svc, FILE *out)
{
    if (!svc)
        return;
    fprintf(out, "%s (L7):\n", svc->echo ? "Echo" : "Discard");
    fprintf(out, "    %" PRIu64 " datagrams from a service port (< %u) not answered\n",
            svc->udp_from_service_port, LOWEST_CLIENT_PORT);
}

void service_stop(struct service *svc)
{
    if (!svc)
        return;
    while (svc->conns)
        conn_close(svc->conns);
    if (svc->udp)
        sock_close(svc->udp);
    if (svc->tcp)
        sock_close(svc->tcp);
    free(svc);
}
