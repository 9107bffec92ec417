/* sock.c - the socket layer (OSI layer 5): one API over UDP and TCP for applications.
 *
 * A struct sock wraps the transport's own object (a UDP pcb or a TCP TCB) and turns the
 * transport's upcalls into the application's events (sock.h has the table). Everything
 * here is bookkeeping; the protocols do the work. Sockets are owned by the stack: those an
 * application forgets to close are released by stack_destroy().
 */
#include "sock.h"
#include "stack_impl.h"
#include "tcp.h"
#include "timer.h"
#include "udp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct sock {
    struct stack *stack;
    enum sock_type type;
    union {
        struct udp_pcb *udp;
        struct tcb *tcb;
    };
    struct sock_events ev;
    void *ctx;
    struct sock *prev, *next; /* every open socket, for sock_fini */
    bool accept_again;        /* a listener retry_accepts has yet to call */
};

struct sock_state {
    struct sock *all;
    unsigned count;
    /* sock_accept said -EMFILE: connections wait in an accept queue until a socket is
     * free. Then accept_retry offers them again (on_accept), on the next stack_step. */
    bool accept_blocked;
    struct timer accept_retry;
};

static void retry_accepts(struct stack *stack, void *arg);

int sock_init(struct stack *stack)
{
    stack->sock = calloc(1, sizeof(*stack->sock));
    if (!stack->sock)
        return -ENOMEM;
    timer_init(&stack->sock->accept_retry, retry_accepts, NULL);
    return 0;
}

/* ---- upcalls: transport -> socket -> application ---- */

static void up_acceptable(void *ctx)
{
    struct sock *s = ctx;
    if (s->ev.on_accept)
        s->ev.on_accept(s, s->ctx);
}

static void up_connected(void *ctx)
{
    struct sock *s = ctx;
    trace(s->stack, TRACE_SOCK, "connected");
    if (s->ev.on_connect)
        s->ev.on_connect(s, s->ctx);
}

static void up_readable(void *ctx)
{
    struct sock *s = ctx;
    if (s->ev.on_readable)
        s->ev.on_readable(s, s->ctx);
}

static void up_writable(void *ctx)
{
    struct sock *s = ctx;
    if (s->ev.on_writable)
        s->ev.on_writable(s, s->ctx);
}

static void up_peer_closed(void *ctx)
{
    struct sock *s = ctx;
    trace(s->stack, TRACE_SOCK, "end of stream from the peer");
    if (s->ev.on_closed)
        s->ev.on_closed(s, s->ctx);
}

static void up_error(void *ctx, int err)
{
    struct sock *s = ctx;
    trace(s->stack, TRACE_SOCK, "error %d (%s)", err, strerror(err < 0 ? -err : err));
    if (s->ev.on_error)
        s->ev.on_error(s, err < 0 ? err : -err, s->ctx);
}

static void up_urgent(void *ctx)
{
    struct sock *s = ctx;
    trace(s->stack, TRACE_SOCK, "urgent data from the peer");
    if (s->ev.on_urgent)
        s->ev.on_urgent(s, s->ctx);
}

static const struct tcp_upcalls tcp_up = {
    .acceptable = up_acceptable,
    .connected = up_connected,
    .readable = up_readable,
    .writable = up_writable,
    .peer_closed = up_peer_closed,
    .error = up_error,
    .urgent = up_urgent,
};
static const struct tcp_upcalls tcp_no_upcalls;

static const struct udp_upcalls udp_up = {
    .readable = up_readable,
    .error = up_error,
};

/* ---- lifetime ---- */

static struct sock *sock_new(struct stack *stack, enum sock_type type)
{
    struct sock_state *ss = stack->sock;
    if (ss->count >= stack->cfg.max_sockets) {
        trace(stack, TRACE_SOCK, "socket limit (%u) reached", stack->cfg.max_sockets);
        return NULL;
    }
    struct sock *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->stack = stack;
    s->type = type;
    s->next = ss->all;
    if (ss->all)
        ss->all->prev = s;
    ss->all = s;
    ss->count++;
    stack->stats.sock.opened++;
    return s;
}

static void sock_free(struct sock *s)
{
    struct sock_state *ss = s->stack->sock;
    if (s->prev)
        s->prev->next = s->next;
    else
        ss->all = s->next;
    if (s->next)
        s->next->prev = s->prev;
    ss->count--;
    s->stack->stats.sock.closed++;
    if (ss->accept_blocked) /* a socket is free: the queued connections may come in now */
        timer_arm(s->stack, &ss->accept_retry, 0);
    free(s);
}

/* Sockets were freed after an accept failed for want of one: every listener hears
 * on_accept again, as when a connection arrives. A listener whose callback closes or
 * opens sockets must not trip us: each listener is marked first, then called until none
 * is left marked. */
static void retry_accepts(struct stack *stack, void *arg)
{
    (void)arg;
    struct sock_state *ss = stack->sock;
    ss->accept_blocked = false;
    stack->stats.sock.accept_retries++;
    trace(stack, TRACE_SOCK, "sockets free again: offering queued connections");
    for (struct sock *s = ss->all; s; s = s->next)
        s->accept_again = s->ev.on_accept != NULL;
    for (;;) {
        struct sock *s = ss->all;
        while (s && !s->accept_again)
            s = s->next;
        if (!s)
            break;
        s->accept_again = false;
        s->ev.on_accept(s, s->ctx);
    }
}

struct sock *sock_open(struct stack *stack, enum sock_type type)
{
    if (type != SOCK_TYPE_TCP && type != SOCK_TYPE_UDP)
        return NULL;
    struct sock *s = sock_new(stack, type);
    if (!s)
        return NULL;
    if (type == SOCK_TYPE_UDP) {
        s->udp = udp_open(stack, &udp_up, s);
    } else {
        s->tcb = tcp_open(stack);
        if (s->tcb)
            tcp_set_upcalls(s->tcb, &tcp_up, s);
    }
    if (!s->udp && !s->tcb) { /* the union: either pointer tells */
        sock_free(s);
        return NULL;
    }
    trace(stack, TRACE_SOCK, "open %s socket", type == SOCK_TYPE_TCP ? "TCP" : "UDP");
    return s;
}

void sock_on(struct sock *s, const struct sock_events *events, void *ctx)
{
    if (events)
        s->ev = *events;
    else
        memset(&s->ev, 0, sizeof(s->ev));
    s->ctx = ctx;
}

int sock_close(struct sock *s)
{
    int err = 0;
    trace(s->stack, TRACE_SOCK, "close %s socket", s->type == SOCK_TYPE_TCP ? "TCP" : "UDP");
    if (s->type == SOCK_TYPE_UDP) {
        udp_close(s->udp);
    } else {
        /* From here on TCP finishes the connection alone; it must not call us back. */
        tcp_set_upcalls(s->tcb, &tcp_no_upcalls, NULL);
        err = tcp_close(s->tcb);
    }
    sock_free(s);
    return err;
}

void sock_abort(struct sock *s)
{
    if (s->type == SOCK_TYPE_UDP) {
        sock_close(s);
        return;
    }
    tcp_set_upcalls(s->tcb, &tcp_no_upcalls, NULL);
    tcp_abort(s->tcb);
    sock_free(s);
}

void sock_fini(struct stack *stack)
{
    if (!stack->sock)
        return;
    while (stack->sock->all)
        sock_abort(stack->sock->all);
    timer_cancel(stack, &stack->sock->accept_retry);
    free(stack->sock);
    stack->sock = NULL;
}

/* ---- calls: application -> socket -> transport ---- */

int sock_bind(struct sock *s, uint32_t ip, uint16_t port)
{
    int err = s->type == SOCK_TYPE_UDP ? udp_bind(s->udp, ip, port) : tcp_bind(s->tcb, ip, port);
    trace(s->stack, TRACE_SOCK, "bind port %u: %s", port, err ? strerror(-err) : "ok");
    return err;
}

int sock_listen(struct sock *s, int backlog)
{
    if (s->type != SOCK_TYPE_TCP)
        return -EOPNOTSUPP;
    if (backlog < 1)
        backlog = 1;
    return tcp_listen(s->tcb, (unsigned)backlog);
}

int sock_accept(struct sock *listener, struct sock **out)
{
    if (listener->type != SOCK_TYPE_TCP)
        return -EOPNOTSUPP;
    struct sock_state *ss = listener->stack->sock;
    if (ss->count >= listener->stack->cfg.max_sockets) {
        /* leave the connection queued until a socket is free (then retry_accepts) */
        if (!ss->accept_blocked)
            trace(listener->stack, TRACE_SOCK, "socket limit (%u): connections wait in the queue",
                  listener->stack->cfg.max_sockets);
        ss->accept_blocked = true;
        return -EMFILE;
    }
    struct tcb *child = tcp_accept(listener->tcb);
    if (!child)
        return -EAGAIN;
    struct sock *s = sock_new(listener->stack, SOCK_TYPE_TCP);
    if (!s) {
        tcp_abort(child);
        return -ENOMEM;
    }
    s->tcb = child;
    tcp_set_upcalls(child, &tcp_up, s);
    *out = s;
    return 0;
}

int sock_connect(struct sock *s, uint32_t ip, uint16_t port)
{
    if (s->type == SOCK_TYPE_UDP)
        return udp_connect(s->udp, ip, port);
    return tcp_connect(s->tcb, ip, port);
}

ssize_t sock_send(struct sock *s, const void *buf, size_t len)
{
    if (s->type == SOCK_TYPE_UDP)
        return udp_sendto(s->udp, buf, len, 0, 0);
    return tcp_send(s->tcb, buf, len);
}

ssize_t sock_send_oob(struct sock *s, const void *buf, size_t len)
{
    if (s->type != SOCK_TYPE_TCP)
        return -EOPNOTSUPP;
    return tcp_send_urgent(s->tcb, buf, len);
}

ssize_t sock_recv_oob(struct sock *s, uint8_t *byte)
{
    if (s->type != SOCK_TYPE_TCP)
        return -EOPNOTSUPP;
    return tcp_recv_urgent(s->tcb, byte);
}

int sock_atmark(const struct sock *s)
{
    return s->type == SOCK_TYPE_TCP ? tcp_at_mark(s->tcb) : 0;
}

ssize_t sock_recv(struct sock *s, void *buf, size_t len)
{
    if (s->type == SOCK_TYPE_UDP)
        return udp_recvfrom(s->udp, buf, len, NULL, NULL);
    return tcp_recv(s->tcb, buf, len);
}

ssize_t sock_sendto(struct sock *s, const void *buf, size_t len, uint32_t ip, uint16_t port)
{
    if (s->type != SOCK_TYPE_UDP)
        return -EOPNOTSUPP;
    if (!ip && !port)
        return -EDESTADDRREQ;
    return udp_sendto(s->udp, buf, len, ip, port);
}

ssize_t sock_recvfrom(struct sock *s, void *buf, size_t len, uint32_t *ip, uint16_t *port)
{
    if (s->type != SOCK_TYPE_UDP) {
        ssize_t n = tcp_recv(s->tcb, buf, len);
        if (n >= 0 && (ip || port)) {
            uint32_t pip = 0;
            uint16_t pport = 0;
            tcp_peer(s->tcb, &pip, &pport);
            if (ip)
                *ip = pip;
            if (port)
                *port = pport;
        }
        return n;
    }
    return udp_recvfrom(s->udp, buf, len, ip, port);
}

int sock_shutdown(struct sock *s, enum sock_shutdown_how how)
{
    if (s->type != SOCK_TYPE_TCP)
        return -EOPNOTSUPP;
    if (how == SOCK_SHUT_RD)
        return 0; /* nothing to tell the peer; data still arriving is kept, as Linux does */
    return tcp_shutdown(s->tcb);
}

/* The per-connection TCP settings of RFC 9293 (keep-alive, TTL, TOS, R2). */
static int tcp_setopt(struct sock *s, enum sock_option opt, int value)
{
    if (s->type != SOCK_TYPE_TCP)
        return -EOPNOTSUPP;
    if (value < 0)
        return -EINVAL;
    unsigned v = (unsigned)value;
    switch (opt) {
    case SOCK_OPT_KEEPALIVE:
        return tcp_set_keepalive(s->tcb, value != 0, 0, 0, 0);
    case SOCK_OPT_KEEPIDLE:
    case SOCK_OPT_KEEPINTVL:
    case SOCK_OPT_KEEPCNT:
        if (v == 0)
            return -EINVAL;
        return tcp_set_keepalive(s->tcb, -1, opt == SOCK_OPT_KEEPIDLE ? v : 0,
                                 opt == SOCK_OPT_KEEPINTVL ? v : 0,
                                 opt == SOCK_OPT_KEEPCNT ? v : 0);
    case SOCK_OPT_TTL:
        return tcp_set_ip_fields(s->tcb, value, -1);
    case SOCK_OPT_TOS:
        return tcp_set_ip_fields(s->tcb, -1, value);
    case SOCK_OPT_MAXRETRIES:
        return tcp_set_max_retries(s->tcb, v);
    case SOCK_OPT_RETRIES1:
        return tcp_set_retries1(s->tcb, v);
    default:
        return -EINVAL;
    }
}

int sock_setopt(struct sock *s, enum sock_option opt, int value)
{
    switch (opt) {
    case SOCK_OPT_NODELAY:
        return s->type == SOCK_TYPE_TCP ? tcp_set_nodelay(s->tcb, value != 0) : -EOPNOTSUPP;
    case SOCK_OPT_SNDBUF:
        if (s->type != SOCK_TYPE_TCP || value <= 0)
            return -EINVAL;
        return tcp_set_bufsize(s->tcb, (size_t)value, 0);
    case SOCK_OPT_RCVBUF:
        if (value <= 0)
            return -EINVAL;
        if (s->type == SOCK_TYPE_UDP)
            return udp_set_queue_len(s->udp, (unsigned)value);
        return tcp_set_bufsize(s->tcb, 0, (size_t)value);
    default:
        return tcp_setopt(s, opt, value);
    }
}

int sock_local(const struct sock *s, uint32_t *ip, uint16_t *port)
{
    if (s->type == SOCK_TYPE_UDP)
        udp_local(s->udp, ip, port);
    else
        tcp_local(s->tcb, ip, port);
    return 0;
}

int sock_peer(const struct sock *s, uint32_t *ip, uint16_t *port)
{
    if (s->type == SOCK_TYPE_UDP)
        return udp_peer(s->udp, ip, port);
    return tcp_peer(s->tcb, ip, port);
}

size_t sock_send_space(const struct sock *s)
{
    return s->type == SOCK_TYPE_TCP ? tcp_send_space(s->tcb) : 65507;
}

size_t sock_send_pending(const struct sock *s)
{
    return s->type == SOCK_TYPE_TCP ? tcp_send_pending(s->tcb) : 0;
}

int sock_soft_error(const struct sock *s)
{
    return s->type == SOCK_TYPE_TCP ? tcp_soft_error(s->tcb) : 0;
}

enum sock_type sock_type(const struct sock *s)
{
    return s->type;
}

struct stack *sock_stack(const struct sock *s)
{
    return s->stack;
}
