/* run.c - `tapir run PROGRAM ARGS...`: an unmodified program's TCP and UDP sockets on tapir.
 *
 * tapir starts PROGRAM with the preload shim (apps/shim.c) and serves it from this one
 * thread and event loop, beside the stack. docs/chapters/09-run.md tells the story; in
 * short:
 *
 *   program --(control: one request, one reply)--> tapir      apps/run_proto.h
 *   program <==(socketpair: the bytes, both ways)==> tapir <--> struct sock (stack/sock.h)
 *
 * Each tapir socket is a `struct rsock` here: the struct sock, our end of the program's
 * socketpair, and two bounded buffers for bytes on their way. The loop below moves bytes
 * between the two as fast as the slower side takes them: when TCP's send buffer is full we
 * stop reading the socketpair (the program's writes then block, or get EAGAIN), when the
 * program does not read we stop taking from TCP (its window closes). Calls and events go
 * to the trace at layer 5 (`--trace sock`), above the segments they cause.
 */
#define _GNU_SOURCE
#include "apps.h"
#include "run_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUN_MAX_SOCKS   256 /* tapir sockets the program may hold at once */
#define RUN_MAX_CLIENTS 32  /* processes of the program (one control connection each) */
#define RUN_BACKLOG_MAX 128 /* connections accepted by TCP, not yet by the program */
#define RUN_BUF         65536
#define RUN_LINGER_US   5000000 /* after the program exits: finish closing, at most 5 s */

enum rstate {
    R_FREE,
    R_NEW,        /* socket(), maybe bind(): no connection yet */
    R_CONNECTING, /* connect() sent SYN */
    R_LISTENING,
    R_CONNECTED,
    R_DEAD, /* the connection ended with an error the program has not taken yet */
};

struct run;

struct rsock {
    struct run *run;
    enum rstate state;
    uint16_t gen; /* in the id: an old id never names a new socket */
    struct sock *sock;
    int fd;           /* our end of the program's socketpair; -1 when closed */
    int prog_fd;      /* the program's fd number, for the trace */
    size_t plug_left; /* bytes of the connect plug still to read away */
    int err;          /* pending error (negative), taken by SO_ERROR or a read */
    bool bound;
    uint32_t bound_ip;       /* what bind() asked for: 0.0.0.0 stays 0.0.0.0 in getsockname */
    bool prog_eof;           /* the program shut down writing (or closed) */
    bool peer_eof;           /* TCP's peer sent FIN and we passed the end on */
    bool fin_queued;         /* sock_shutdown(WR) done */
    bool orphan;             /* the program closed it: TCP finishes, then we free */
    int listener;            /* an accepted connection not yet taken: its listener's index */
    bool udp;                /* a datagram socket: R_NEW, or R_CONNECTED to a default peer */
    struct run_dgram in_hdr; /* UDP: the header of the datagram waiting in `in` */
    int opt[RUN_OPT_LINGER + 1];
    uint8_t *in; /* TCP -> program, not yet written to the socketpair */
    size_t in_off, in_len;
    uint8_t *out; /* program -> TCP, not yet taken by sock_send */
    size_t out_off, out_len;
    int queue[RUN_BACKLOG_MAX]; /* listener: accepted connections, oldest first */
    unsigned q_len, backlog;
};

struct client {
    int fd;
    char name[20]; /* the process's name, for the trace: "curl" */
};

struct run {
    struct stack *stack;
    volatile sig_atomic_t *stop;
    int listen_fd; /* control connections arrive here */
    struct client clients[RUN_MAX_CLIENTS];
    unsigned n_clients;
    struct rsock socks[RUN_MAX_SOCKS];
    const char *who; /* the client whose request we are serving, for the trace */
    unsigned long requests, bad_requests;
    uint8_t scratch[RUN_BUF];
};

#define L5(r, ...) trace((r)->stack, TRACE_SOCK, __VA_ARGS__)

static const char *err_name(int err)
{
    switch (-err) {
    case 0:
        return "0";
    case EINPROGRESS:
        return "EINPROGRESS";
    case EAGAIN:
        return "EAGAIN";
    case EADDRINUSE:
        return "EADDRINUSE";
    case EADDRNOTAVAIL:
        return "EADDRNOTAVAIL";
    case ECONNREFUSED:
        return "ECONNREFUSED";
    case ECONNRESET:
        return "ECONNRESET";
    case ETIMEDOUT:
        return "ETIMEDOUT";
    case EHOSTUNREACH:
        return "EHOSTUNREACH";
    case EINVAL:
        return "EINVAL";
    case EISCONN:
        return "EISCONN";
    case EALREADY:
        return "EALREADY";
    case ENOTCONN:
        return "ENOTCONN";
    case EBADF:
        return "EBADF";
    }
    return strerror(-err);
}

static const char *addr_text(char buf[24], uint32_t ip, uint16_t port)
{
    snprintf(buf, 24, "%u.%u.%u.%u:%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255,
             port);
    return buf;
}

/* ---- the table of sockets ---------------------------------------------------------------- */

static uint32_t rsock_id(struct run *run, struct rsock *r)
{
    return ((uint32_t)r->gen << 16) | (uint32_t)(r - run->socks + 1);
}

static struct rsock *rsock_by_id(struct run *run, uint32_t id)
{
    uint32_t i = (id & 0xffff) - 1;
    if (i >= RUN_MAX_SOCKS || run->socks[i].state == R_FREE || run->socks[i].gen != id >> 16)
        return NULL;
    return &run->socks[i];
}

static void rsock_free(struct run *run, struct rsock *r)
{
    (void)run;
    if (r->fd >= 0)
        close(r->fd);
    free(r->in);
    free(r->out);
    uint16_t gen = (uint16_t)(r->gen + 1);
    memset(r, 0, sizeof(*r));
    r->run = run;
    r->gen = gen ? gen : 1;
    r->fd = -1;
    r->state = R_FREE;
}

/* A free slot; else one whose error nobody asked for; else an orphan (closed by the
 * program, TCP still finishing), handed to TCP to finish alone. The table is bounded. */
static struct rsock *rsock_alloc(struct run *run)
{
    struct rsock *slot = NULL, *dead = NULL, *orphan = NULL;
    for (int i = 0; i < RUN_MAX_SOCKS && !slot; i++) {
        struct rsock *r = &run->socks[i];
        if (r->state == R_FREE)
            slot = r;
        else if (r->state == R_DEAD && r->fd < 0 && !dead)
            dead = r;
        else if (r->orphan && !orphan)
            orphan = r;
    }
    if (!slot)
        slot = dead ? dead : orphan;
    if (!slot)
        return NULL;
    if (slot->sock)
        sock_close(slot->sock); /* an orphan: TCP ends the connection in the background */
    slot->sock = NULL;
    if (slot->state != R_FREE)
        rsock_free(run, slot);
    slot->fd = -1;
    slot->listener = -1;
    slot->in = malloc(RUN_BUF);
    slot->out = malloc(RUN_BUF);
    if (!slot->in || !slot->out) {
        rsock_free(run, slot);
        return NULL;
    }
    slot->state = R_NEW;
    return slot;
}

static const struct sock_events conn_events;

/* ---- bytes: TCP -> program ------------------------------------------------------------------ */

/* Read away what is left of the plug: the program's end becomes writable (POLLOUT). */
static void pull_plug(struct run *run, struct rsock *r)
{
    while (r->plug_left && r->fd >= 0) {
        size_t want = r->plug_left < RUN_BUF ? r->plug_left : RUN_BUF;
        ssize_t n = recv(r->fd, run->scratch, want, MSG_DONTWAIT);
        if (n <= 0)
            return;
        r->plug_left -= (size_t)n;
    }
}

/* Our end of the socketpair closes: the program reads the end of the stream, its writes
 * fail with EPIPE. Unread bytes it wrote are read away first: a socketpair closed with
 * unread data would tell the program ECONNRESET by itself. */
static void close_our_end(struct run *run, struct rsock *r)
{
    if (r->fd < 0)
        return;
    for (int i = 0; i < 64 && recv(r->fd, run->scratch, RUN_BUF, MSG_DONTWAIT) > 0; i++)
        ;
    close(r->fd);
    r->fd = -1;
}

static void finish_if_done(struct run *run, struct rsock *r);

static void pump_to_program(struct run *run, struct rsock *r)
{
    if (!r->sock || r->fd < 0 || r->state != R_CONNECTED)
        return;
    for (int i = 0; i < 64; i++) {
        if (r->in_len) {
            ssize_t n = send(r->fd, r->in + r->in_off, r->in_len, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n < 0 && errno == EAGAIN)
                return; /* the program is not reading: poll for POLLOUT */
            if (n < 0) {
                r->in_len = 0; /* the program shut down reading: the bytes go nowhere */
                continue;
            }
            r->in_off += (size_t)n;
            r->in_len -= (size_t)n;
            continue;
        }
        if (r->peer_eof)
            return;
        ssize_t n = sock_recv(r->sock, r->in, RUN_BUF);
        if (n == -EAGAIN)
            return;
        if (n <= 0) {
            /* the peer's FIN: the program reads the end of the stream */
            r->peer_eof = true;
            shutdown(r->fd, SHUT_WR);
            L5(run, "fd %d: the peer closed (FIN): the program reads end of stream", r->prog_fd);
            finish_if_done(run, r);
            return;
        }
        r->in_off = 0;
        r->in_len = (size_t)n;
    }
}

/* ---- bytes: program -> TCP ------------------------------------------------------------------ */

static void queue_fin(struct run *run, struct rsock *r)
{
    if (r->fin_queued || !r->sock || r->out_len)
        return;
    r->fin_queued = true;
    L5(run, "fd %d: the program's writes ended (shutdown or close): FIN after the queued bytes",
       r->prog_fd);
    sock_shutdown(r->sock, SOCK_SHUT_WR);
}

static void pump_from_program(struct run *run, struct rsock *r)
{
    if (!r->sock || r->fd < 0 || r->state != R_CONNECTED)
        return;
    for (int i = 0; i < 64; i++) {
        if (r->out_len) {
            ssize_t n = sock_send(r->sock, r->out + r->out_off, r->out_len);
            if (n == -EAGAIN || n == 0)
                return; /* TCP is full: on_writable brings us back */
            if (n < 0) {
                r->out_len = 0;
                return;
            }
            r->out_off += (size_t)n;
            r->out_len -= (size_t)n;
            continue;
        }
        if (r->prog_eof)
            break;
        ssize_t n = recv(r->fd, r->out, RUN_BUF, MSG_DONTWAIT);
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0 && errno == ECONNRESET) {
            /* the program closed with bytes we sent still unread: Linux answers a close
             * that loses data with RST (RFC 2525 2.17), and so do we */
            L5(run, "fd %d: closed with unread data: abort (RST)", r->prog_fd);
            sock_abort(r->sock);
            r->sock = NULL;
            rsock_free(run, r);
            return;
        }
        if (n <= 0) {
            r->prog_eof = true;
            break;
        }
        r->out_off = 0;
        r->out_len = (size_t)n;
    }
    if (r->prog_eof)
        queue_fin(run, r);
}

/* The program's side is over (closed, or both directions ended): once TCP's are too
 * (the peer's FIN came and all we sent is acknowledged), the socket is done. */
static void finish_if_done(struct run *run, struct rsock *r)
{
    if (r->state != R_CONNECTED || !r->prog_eof || !r->peer_eof)
        return;
    if (r->fd >= 0) {
        close_our_end(run, r); /* both ways ended: nothing more to pass either way */
        r->orphan = true;
    }
    if (r->out_len || sock_send_pending(r->sock) > 0)
        return; /* on_writable comes back as ACKs arrive */
    sock_close(r->sock);
    r->sock = NULL;
    rsock_free(run, r);
}

/* ---- events from TCP ------------------------------------------------------------------------ */

static void on_connect(struct sock *s, void *ctx)
{
    struct rsock *r = ctx;
    (void)s;
    r->state = R_CONNECTED;
    L5(r->run, "fd %d: connect() done: the program's socket turns writable", r->prog_fd);
    pull_plug(r->run, r);
    pump_from_program(r->run, r);
}

static void on_readable(struct sock *s, void *ctx)
{
    struct rsock *r = ctx;
    if (!r->orphan) {
        pump_to_program(r->run, r);
        return;
    }
    /* the program has closed: bytes now have no reader, and Linux answers them with RST */
    ssize_t n = sock_recv(s, r->run->scratch, RUN_BUF);
    if (n > 0) {
        L5(r->run, "fd %d: data after close(): abort (RST)", r->prog_fd);
        sock_abort(s);
        r->sock = NULL;
        rsock_free(r->run, r);
    } else if (n == 0) {
        r->peer_eof = true;
        finish_if_done(r->run, r);
    }
}

static void on_writable(struct sock *s, void *ctx)
{
    struct rsock *r = ctx;
    (void)s;
    pump_from_program(r->run, r);
    if (r->state == R_CONNECTED && r->sock)
        finish_if_done(r->run, r);
}

static void on_closed(struct sock *s, void *ctx)
{
    on_readable(s, ctx); /* read what is left; the 0 at the end passes the FIN on */
}

static void on_error(struct sock *s, int err, void *ctx)
{
    struct rsock *r = ctx;
    struct run *run = r->run;
    L5(run, "fd %d: the connection failed: %s", r->prog_fd, err_name(err));
    sock_close(s);
    r->sock = NULL;
    r->err = err;
    if (r->orphan) {
        rsock_free(run, r);
        return;
    }
    r->state = R_DEAD;
    if (r->fd >= 0 && r->in_len) /* what arrived before the error is still readable */
        send(r->fd, r->in + r->in_off, r->in_len, MSG_DONTWAIT | MSG_NOSIGNAL);
    close_our_end(run, r); /* POLLOUT|POLLHUP for the program: a connect() is over */
}

static const struct sock_events conn_events = {
    .on_connect = on_connect,
    .on_readable = on_readable,
    .on_writable = on_writable,
    .on_closed = on_closed,
    .on_error = on_error,
};

/* TCP has connections for the listener: take them (up to the backlog) and tell the
 * program one byte each, so its poll() sees the listener readable as with the kernel. */
static void on_accept(struct sock *s, void *ctx)
{
    struct rsock *l = ctx;
    struct run *run = l->run;
    while (l->q_len < l->backlog) {
        struct sock *c;
        if (sock_accept(s, &c) < 0)
            return;
        struct rsock *r = rsock_alloc(run);
        if (!r) {
            L5(run, "fd %d: no room for another connection: abort (RST)", l->prog_fd);
            sock_abort(c);
            continue;
        }
        r->sock = c;
        r->state = R_CONNECTED;
        r->bound = true;
        r->listener = (int)(l - run->socks);
        sock_on(c, &conn_events, r);
        l->queue[l->q_len++] = (int)(r - run->socks);
        uint32_t ip = 0;
        uint16_t port = 0;
        sock_peer(c, &ip, &port);
        char a[24];
        L5(run, "fd %d: a connection from %s waits for accept()", l->prog_fd,
           addr_text(a, ip, port));
        if (l->fd >= 0)
            send(l->fd, "c", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
}

static const struct sock_events listener_events = {.on_accept = on_accept};

/* ---- datagrams: UDP <-> program ------------------------------------------------------------- */

/* A UDP socket's socketpair is SOCK_SEQPACKET: one message per datagram, a struct run_dgram
 * first (run_proto.h). A datagram the program has no room for waits in `in`; meanwhile
 * UDP's own bounded queue holds the next ones (and drops, counted, when it is full). */
static void udp_to_program(struct rsock *r)
{
    for (int i = 0; i < 64 && r->sock && r->fd >= 0; i++) {
        if (r->in_len) {
            struct iovec iov[2] = {{&r->in_hdr, sizeof(r->in_hdr)}, {r->in, r->in_len - 1}};
            struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
            ssize_t n = sendmsg(r->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n < 0 && errno == EAGAIN)
                return; /* the program is not reading: poll for POLLOUT */
            r->in_len = 0;
            continue;
        }
        uint32_t ip = 0;
        uint16_t port = 0;
        ssize_t n = sock_recvfrom(r->sock, r->in, RUN_BUF, &ip, &port);
        if (n == -EAGAIN)
            return;
        if (n < 0)
            continue; /* an ICMP error, already passed on by on_dgram_error */
        r->in_hdr = (struct run_dgram){.ip = ip, .port = port};
        r->in_len = (size_t)n + 1; /* + 1: an empty datagram is still one */
    }
}

/* Datagrams the program sent; true when it has closed the socket (the end of the pair). */
static bool udp_from_program(struct run *run, struct rsock *r)
{
    char a[24];
    for (int i = 0; i < 64 && r->sock && r->fd >= 0; i++) {
        struct run_dgram h;
        struct iovec iov[2] = {{&h, sizeof(h)}, {r->out, RUN_BUF}};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
        ssize_t n = recvmsg(r->fd, &mh, MSG_DONTWAIT);
        if (n == 0)
            return true;
        if (n < (ssize_t)sizeof(h)) {
            if (n > 0) { /* too short for a header: not from our shim */
                run->bad_requests++;
                L5(run, "fd %d: a malformed datagram (%zd bytes) dropped", r->prog_fd, n);
                continue;
            }
            return false;
        }
        size_t len = (size_t)n - sizeof(h);
        ssize_t err = h.ip || h.port ? sock_sendto(r->sock, r->out, len, h.ip, h.port)
                                     : sock_send(r->sock, r->out, len);
        if (err < 0) /* the program's send() returned already: as a lost datagram */
            L5(run, "fd %d: a datagram to %s lost: %s", r->prog_fd, addr_text(a, h.ip, h.port),
               err_name((int)err));
    }
    return false;
}

static void on_dgram_readable(struct sock *s, void *ctx)
{
    (void)s;
    struct rsock *r = ctx;
    udp_to_program(r);
}

/* An ICMP error about a datagram we sent. Linux reports it only on a connected socket (the
 * next send or receive fails with it, once); an unconnected one never hears of it. */
static void on_dgram_error(struct sock *s, int err, void *ctx)
{
    (void)s;
    struct rsock *r = ctx;
    if (r->state != R_CONNECTED) {
        L5(r->run, "fd %d: %s ignored: the socket is not connected", r->prog_fd, err_name(err));
        return;
    }
    L5(r->run, "fd %d: %s: the program's next receive reports it", r->prog_fd, err_name(err));
    r->err = err;
    struct run_dgram h = {.err = (uint16_t)-err};
    if (r->fd >= 0)
        send(r->fd, &h, sizeof(h), MSG_DONTWAIT | MSG_NOSIGNAL);
}

static const struct sock_events dgram_events = {
    .on_readable = on_dgram_readable,
    .on_error = on_dgram_error,
};

static void udp_events(struct run *run, struct rsock *r, short revents)
{
    if (revents & POLLOUT)
        udp_to_program(r);
    bool closed = (revents & (POLLIN | POLLHUP)) && udp_from_program(run, r);
    if (closed || (revents & POLLERR)) {
        L5(run, "fd %d: close()", r->prog_fd);
        if (r->sock)
            sock_close(r->sock);
        r->sock = NULL;
        rsock_free(run, r);
    }
}

/* ---- requests from the program ------------------------------------------------------------- */

static int req_socket(struct run *run, struct run_msg *m, int fd)
{
    if (fd < 0)
        return -EINVAL;
    struct rsock *r = rsock_alloc(run);
    if (!r)
        return -EMFILE;
    r->udp = m->val == SOCK_DGRAM;
    r->sock = sock_open(run->stack, r->udp ? SOCK_TYPE_UDP : SOCK_TYPE_TCP);
    if (!r->sock) {
        rsock_free(run, r);
        return -ENOBUFS;
    }
    sock_on(r->sock, r->udp ? &dgram_events : &conn_events, r);
    r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (r->fd < 0) {
        sock_close(r->sock);
        r->sock = NULL;
        rsock_free(run, r);
        return -EMFILE;
    }
    fcntl(r->fd, F_SETFL, O_NONBLOCK | O_RDWR);
    r->plug_left = m->arg > 0 ? (size_t)m->arg : 0;
    r->opt[RUN_OPT_LINGER] = -1;
    L5(run, "%s: socket(AF_INET, %s) = fd %d", run->who, r->udp ? "SOCK_DGRAM" : "SOCK_STREAM",
       m->fd);
    return (int)rsock_id(run, r);
}

static int req_bind(struct run *run, struct rsock *r, struct run_msg *m)
{
    char a[24];
    int err = 0;
    uint32_t ip = 0;
    uint16_t port = 0;
    if (r->udp && r->sock)
        sock_local(r->sock, &ip, &port); /* a send may have bound it already */
    if (r->state != R_NEW || r->bound || port)
        err = -EINVAL;
    else if (m->ip && m->ip != stack_config(run->stack)->ip)
        err = -EADDRNOTAVAIL;
    else
        err = sock_bind(r->sock, m->ip, m->port);
    if (err == 0) {
        r->bound = true;
        r->bound_ip = m->ip;
    }
    L5(run, "%s: bind(fd %d, %s) = %s", run->who, m->fd, addr_text(a, m->ip, m->port),
       err_name(err));
    return err;
}

static int req_listen(struct run *run, struct rsock *r, struct run_msg *m)
{
    int err = 0, backlog = m->arg < 1 ? 1 : m->arg > RUN_BACKLOG_MAX ? RUN_BACKLOG_MAX : m->arg;
    if (r->udp) {
        err = -EOPNOTSUPP;
    } else if (r->state == R_LISTENING) {
        r->backlog = (unsigned)backlog;
    } else if (r->state != R_NEW) {
        err = -EINVAL;
    } else {
        if (!r->bound && (err = sock_bind(r->sock, 0, 0)) == 0) /* Linux binds a free port */
            r->bound = true;
        if (err == 0)
            err = sock_listen(r->sock, backlog);
        if (err == 0) {
            r->state = R_LISTENING;
            r->backlog = (unsigned)backlog;
            sock_on(r->sock, &listener_events, r);
        }
    }
    L5(run, "%s: listen(fd %d, %d) = %s", run->who, m->fd, m->arg, err_name(err));
    return err;
}

static int req_connect(struct run *run, struct rsock *r, struct run_msg *m)
{
    char a[24];
    int err;
    if (r->udp) { /* a datagram socket: the default peer, and only its datagrams come in */
        err = sock_connect(r->sock, m->ip, m->port);
        if (err == 0) {
            r->state = R_CONNECTED;
            r->bound = true;
        }
        L5(run, "%s: connect(fd %d, %s) = %s", run->who, m->fd, addr_text(a, m->ip, m->port),
           err_name(err));
        return err;
    }
    switch (r->state) {
    case R_NEW:
        /* traced before the call: the SYN it sends comes next in the trace */
        L5(run, "%s: connect(fd %d, %s)", run->who, m->fd, addr_text(a, m->ip, m->port));
        err = sock_connect(r->sock, m->ip, m->port);
        if (err == 0) {
            r->state = R_CONNECTING;
            r->bound = true;
            err = -EINPROGRESS;
        }
        break;
    case R_CONNECTING:
        err = -EALREADY;
        break;
    case R_DEAD:
        err = r->err ? r->err : -ECONNABORTED;
        r->err = 0;
        break;
    default:
        err = -EISCONN;
    }
    if (err == -EINPROGRESS) /* a blocking connect() waits in the program for the result */
        L5(run, "%s: connect(fd %d): handshake under way", run->who, m->fd);
    else
        L5(run, "%s: connect(fd %d) = %s", run->who, m->fd, err_name(err));
    return err;
}

static int req_accept(struct run *run, struct rsock *l, struct run_msg *m, int *give_fd)
{
    if (l->udp)
        return -EOPNOTSUPP;
    if (l->state != R_LISTENING)
        return -EINVAL;
    if (l->q_len == 0)
        return -EAGAIN;
    struct rsock *r = &run->socks[l->queue[0]];
    memmove(l->queue, l->queue + 1, --l->q_len * sizeof(l->queue[0]));
    r->listener = -1;
    r->prog_fd = -1; /* the shim tells us the number once it has it */
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -ENFILE;
    fcntl(sv[0], F_SETFL, O_NONBLOCK | O_RDWR);
    *give_fd = sv[1];
    if (r->state == R_DEAD)
        close(sv[0]); /* reset before the program took it: it reads the error */
    else
        r->fd = sv[0];
    r->opt[RUN_OPT_LINGER] = -1;
    m->ip = 0;
    m->port = 0;
    if (r->sock)
        sock_peer(r->sock, &m->ip, &m->port);
    char a[24];
    L5(run, "%s: accept(fd %d) = a connection from %s", run->who, m->fd,
       addr_text(a, m->ip, m->port));
    pump_to_program(run, r); /* bytes (or a FIN) that came before accept() */
    return (int)rsock_id(run, r);
}

static int req_status(struct run *run, struct rsock *r, struct run_msg *m)
{
    (void)run;
    m->val = r->state == R_CONNECTED    ? RUN_ST_CONNECTED
             : r->state == R_LISTENING  ? RUN_ST_LISTENING
             : r->state == R_CONNECTING ? RUN_ST_CONNECTING
                                        : 0;
    int err = r->err;
    if (m->arg) { /* taken: Linux reports a connection's error once */
        r->err = 0;
        if (err)
            L5(run, "%s: fd %d: the program learns %s", run->who, m->fd, err_name(err));
        if (r->state == R_DEAD && r->fd < 0 && r->listener < 0)
            rsock_free(run, r); /* nothing left to tell: later questions get "closed" */
    }
    return err;
}

static int req_name(struct rsock *r, struct run_msg *m)
{
    m->ip = 0;
    m->port = 0;
    if (m->arg == 0) {
        if (r->sock)
            sock_local(r->sock, &m->ip, &m->port);
        if (r->state == R_NEW || r->state == R_LISTENING)
            m->ip = r->bound_ip; /* a wildcard bind() reads back as 0.0.0.0, as on Linux */
        return 0;
    }
    if (r->state != R_CONNECTED || !r->sock)
        return -ENOTCONN;
    return sock_peer(r->sock, &m->ip, &m->port);
}

static int req_setopt(struct run *run, struct rsock *r, struct run_msg *m)
{
    if (m->arg < 0 || m->arg > RUN_OPT_LINGER)
        return -ENOPROTOOPT;
    int v = m->val;
    if (m->arg == RUN_OPT_SNDBUF || m->arg == RUN_OPT_RCVBUF) {
        if (v < 2048)
            v = 2048;
        if (v > INT_MAX / 2)
            v = INT_MAX / 2;
    }
    if (r->sock && m->arg == RUN_OPT_NODELAY)
        sock_setopt(r->sock, SOCK_OPT_NODELAY, v != 0);
    if (r->sock && m->arg == RUN_OPT_SNDBUF)
        sock_setopt(r->sock, SOCK_OPT_SNDBUF, v);
    if (r->sock && m->arg == RUN_OPT_RCVBUF)
        sock_setopt(r->sock, SOCK_OPT_RCVBUF, v);
    /* Linux doubles the buffer sizes (room for its bookkeeping) and reports the double */
    r->opt[m->arg] = (m->arg == RUN_OPT_SNDBUF || m->arg == RUN_OPT_RCVBUF) ? 2 * v
                     : m->arg == RUN_OPT_LINGER                             ? v
                                                                            : v != 0;
    static const char *names[] = {"TCP_NODELAY",  "SO_SNDBUF",    "SO_RCVBUF",
                                  "SO_REUSEADDR", "SO_REUSEPORT", "SO_LINGER"};
    L5(run, "%s: setsockopt(fd %d, %s, %d) = 0", run->who, m->fd, names[m->arg], m->val);
    return 0;
}

static int req_getopt(struct run *run, struct rsock *r, struct run_msg *m)
{
    const struct stack_config *cfg = stack_config(run->stack);
    if (m->arg < 0 || m->arg > RUN_OPT_LINGER)
        return -ENOPROTOOPT;
    m->val = r->opt[m->arg];
    if (!m->val && m->arg == RUN_OPT_SNDBUF)
        m->val = (int)cfg->tcp_sndbuf;
    if (!m->val && m->arg == RUN_OPT_RCVBUF)
        m->val = (int)cfg->tcp_rcvbuf;
    return 0;
}

static int req_shutdown(struct run *run, struct rsock *r, struct run_msg *m)
{
    int err = r->state == R_CONNECTED ? 0 : -ENOTCONN;
    static const char *hows[] = {"SHUT_RD", "SHUT_WR", "SHUT_RDWR"};
    L5(run, "%s: shutdown(fd %d, %s) = %s", run->who, m->fd, hows[m->arg % 3], err_name(err));
    return err;
}

/* Answer one request; *give_fd is an fd to send back with the reply (accept). */
static int serve_request(struct run *run, struct run_msg *m, int in_fd, int *give_fd)
{
    if (m->op < RUN_SOCKET || m->op > RUN_SHUTDOWN) {
        run->bad_requests++;
        L5(run, "%s: unknown request %d refused (EINVAL)", run->who, m->op);
        return -EINVAL;
    }
    if (m->op == RUN_SOCKET)
        return req_socket(run, m, in_fd);
    struct rsock *r = rsock_by_id(run, m->id);
    if (!r) /* a socket tapir finished with: closed, as far as anyone can tell */
        return m->op == RUN_STATUS ? 0 : m->op == RUN_NAME && m->arg ? -ENOTCONN : -EBADF;
    if (m->fd >= 0)
        r->prog_fd = m->fd;
    /* Datagrams the program sent before this request go first, as the kernel would have
     * sent them at once: a sendto() binds the port its getsockname() then reports. */
    if (r->udp)
        udp_from_program(run, r);
    switch (m->op) {
    case RUN_BIND:
        return req_bind(run, r, m);
    case RUN_LISTEN:
        return req_listen(run, r, m);
    case RUN_CONNECT:
        return req_connect(run, r, m);
    case RUN_ACCEPT:
        return req_accept(run, r, m, give_fd);
    case RUN_STATUS:
        return req_status(run, r, m);
    case RUN_NAME:
        return req_name(r, m);
    case RUN_SETOPT:
        return req_setopt(run, r, m);
    case RUN_GETOPT:
        return req_getopt(run, r, m);
    case RUN_SHUTDOWN:
        return req_shutdown(run, r, m);
    }
    return -EINVAL;
}

/* ---- control connections -------------------------------------------------------------------- */

static void client_add(struct run *run)
{
    int fd = accept4(run->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    if (run->n_clients == RUN_MAX_CLIENTS) {
        close(fd); /* the shim reports ENETDOWN: too many processes */
        return;
    }
    struct client *c = &run->clients[run->n_clients++];
    c->fd = fd;
    struct ucred cred;
    socklen_t len = sizeof(cred);
    char path[64], comm[16] = "?";
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
        snprintf(path, sizeof(path), "/proc/%d/comm", (int)cred.pid);
        FILE *f = fopen(path, "r");
        if (f) {
            if (fgets(comm, sizeof(comm), f))
                comm[strcspn(comm, "\n")] = 0;
            fclose(f);
        }
    }
    snprintf(c->name, sizeof(c->name), "%.15s", comm);
}

static void client_remove(struct run *run, unsigned i)
{
    close(run->clients[i].fd);
    run->clients[i] = run->clients[--run->n_clients];
}

/* One request from client i; false when the client has gone. */
static bool client_serve(struct run *run, unsigned i)
{
    struct client *c = &run->clients[i];
    struct run_msg m;
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } cbuf;
    struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf)};
    ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return true;
    int in_fd = -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    if (n > 0 && cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
        memcpy(&in_fd, CMSG_DATA(cm), sizeof(int));
    if (n != (ssize_t)sizeof(m) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
        if (in_fd >= 0)
            close(in_fd);
        if (n > 0) { /* not from our shim: dropped, counted and traced */
            run->bad_requests++;
            L5(run, "%s: a malformed request (%zd bytes) dropped", c->name, n);
        }
        return n > 0; /* 0 or an error: the process is gone */
    }
    run->requests++;
    int give_fd = -1;
    run->who = c->name;
    m.ret = serve_request(run, &m, in_fd, &give_fd);
    if (in_fd >= 0)
        close(in_fd);
    mh = (struct msghdr){.msg_iov = &iov, .msg_iovlen = 1};
    if (give_fd >= 0) {
        memset(&cbuf, 0, sizeof(cbuf));
        mh.msg_control = cbuf.buf;
        mh.msg_controllen = sizeof(cbuf.buf);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &give_fd, sizeof(int));
    }
    /* the shim waits for this reply: a full buffer cannot happen with one request out */
    sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (give_fd >= 0)
        close(give_fd);
    return true;
}

/* ---- the program's end hangs up ---------------------------------------------------------------
 */

/* The last copy of the program's fd is closed (close(), exit, a crash): what Linux does
 * on close(). */
static void program_closed(struct run *run, struct rsock *r)
{
    switch (r->state) {
    case R_LISTENING:
        L5(run, "fd %d: close(): the listener stops; %u waiting connections are reset", r->prog_fd,
           r->q_len);
        for (unsigned i = 0; i < r->q_len; i++) {
            struct rsock *c = &run->socks[r->queue[i]];
            if (c->sock)
                sock_abort(c->sock);
            c->sock = NULL;
            rsock_free(run, c);
        }
        r->q_len = 0;
        break;
    case R_CONNECTED:
        if (r->in_len || r->opt[RUN_OPT_LINGER] == 0) {
            L5(run, "fd %d: close() with %s: abort (RST)", r->prog_fd,
               r->in_len ? "unread data" : "SO_LINGER 0");
            sock_abort(r->sock);
            r->sock = NULL;
            break;
        }
        L5(run, "fd %d: close()", r->prog_fd);
        close_our_end(run, r);
        r->orphan = true;
        r->prog_eof = true;
        queue_fin(run, r);
        finish_if_done(run, r);
        return;
    default:
        L5(run, "fd %d: close()", r->prog_fd);
        break;
    }
    if (r->sock)
        sock_close(r->sock);
    r->sock = NULL;
    rsock_free(run, r);
}

static void rsock_events(struct run *run, struct rsock *r, short revents)
{
    if (r->udp) {
        udp_events(run, r, revents);
        return;
    }
    if (r->state == R_CONNECTED) {
        if (revents & POLLOUT)
            pump_to_program(run, r);
        if (r->state == R_CONNECTED && r->fd >= 0 && (revents & (POLLIN | POLLHUP)))
            pump_from_program(run, r);
        if (r->state != R_CONNECTED || r->fd < 0)
            return; /* freed or finished by the pumps */
        if ((revents & POLLHUP) && r->prog_eof && !r->peer_eof && !r->out_len)
            program_closed(run, r);
        else if (r->prog_eof && r->peer_eof)
            finish_if_done(run, r);
        return;
    }
    if (revents & (POLLHUP | POLLERR))
        program_closed(run, r);
}

/* What to poll our end of a socketpair for (-1: not at all). */
static short rsock_interest(const struct rsock *r)
{
    if (r->fd < 0 || r->listener >= 0)
        return -1;
    if (r->udp)
        return r->in_len ? POLLOUT | POLLIN : POLLIN;
    if (r->state != R_CONNECTED)
        return 0; /* only the hang-up: the program closed it */
    short ev = 0;
    if (r->in_len)
        ev |= POLLOUT;
    if (!r->out_len && !r->prog_eof)
        ev |= POLLIN;
    /* Waiting for TCP alone (its send buffer full, or both ends closed): a hang-up of the
     * program's end would only wake us again and again; TCP's events bring us back. */
    if (!ev && (r->out_len || (r->prog_eof && r->peer_eof)))
        return -1;
    return ev;
}

/* ---- the loop -------------------------------------------------------------------------------- */

/* Connections both sides have closed wait only for TCP's last ACKs: look at them once a
 * round (an ACK that empties the send queue need not raise an event). */
static void finish_closed(struct run *run)
{
    for (int i = 0; i < RUN_MAX_SOCKS; i++) {
        struct rsock *r = &run->socks[i];
        if (r->state == R_CONNECTED && r->sock && r->prog_eof && r->peer_eof)
            finish_if_done(run, r);
    }
}

static bool sockets_busy(const struct run *run)
{
    for (int i = 0; i < RUN_MAX_SOCKS; i++)
        if (run->socks[i].state != R_FREE &&
            !(run->socks[i].state == R_DEAD && run->socks[i].fd < 0))
            return true;
    return false;
}

static int open_control(struct run *run, char *name, size_t name_len)
{
    unsigned rnd = (unsigned)getpid() * 2654435761u ^ (unsigned)stack_now_us(run->stack);
    snprintf(name, name_len, "tapir-run-%d-%08x", (int)getpid(), rnd);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    memcpy(sun.sun_path + 1, name, len);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sun,
             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len)) < 0 ||
        listen(fd, RUN_MAX_CLIENTS) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    run->listen_fd = fd;
    return 0;
}

static pid_t start_program(const char *control, const char *shim, char **argv)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* the child: the program, with the shim in front of libc */
    const char *old = getenv("LD_PRELOAD");
    char *preload = malloc(strlen(shim) + (old ? strlen(old) : 0) + 2);
    if (!preload)
        _exit(127);
    strcpy(preload, shim);
    if (old && *old) {
        strcat(preload, ":");
        strcat(preload, old);
    }
    setenv("LD_PRELOAD", preload, 1);
    setenv(RUN_ENV_SOCKET, control, 1);
    signal(SIGPIPE, SIG_DFL); /* tapir ignores it; the program gets Linux's default */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    execvp(argv[0], argv);
    fprintf(stderr, "tapir: run: cannot start '%s': %s\n", argv[0], strerror(errno));
    _exit(127);
}

int run_program(struct stack *stack, int link_fd, const char *shim, char **argv,
                volatile sig_atomic_t *stop)
{
    struct run *run = calloc(1, sizeof(*run));
    if (!run)
        return 1;
    run->stack = stack;
    run->stop = stop;
    for (int i = 0; i < RUN_MAX_SOCKS; i++) {
        run->socks[i].run = run;
        run->socks[i].fd = -1;
        run->socks[i].gen = 1;
    }
    char control[64];
    int err = open_control(run, control, sizeof(control));
    if (err < 0) {
        fprintf(stderr, "tapir: run: control socket: %s\n", strerror(-err));
        free(run);
        return 1;
    }
    pid_t pid = start_program(control, shim, argv);
    if (pid < 0) {
        fprintf(stderr, "tapir: run: fork: %s\n", strerror(errno));
        close(run->listen_fd);
        free(run);
        return 1;
    }
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    int status = 0;
    bool exited = false, forwarded = false;
    uint64_t exited_at = 0;
    enum { MAXFD = 3 + RUN_MAX_CLIENTS + RUN_MAX_SOCKS };
    struct pollfd pfd[MAXFD];
    int owner[MAXFD]; /* -1 link, -2 control listener, -3 pidfd, -100-i client i, else sock */
    for (;;) {
        uint64_t now = stack_real_clock_us(stack);
        if (*stop && !exited && !forwarded) {
            kill(pid, SIGTERM); /* tapir was asked to stop: so is the program */
            forwarded = true;
        }
        if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
            exited = true;
            exited_at = now;
            L5(run, "the program exited (%s %d)", WIFSIGNALED(status) ? "signal" : "status",
               WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        }
        if (exited && (!sockets_busy(run) || now - exited_at > RUN_LINGER_US))
            break;
        unsigned n = 0;
        pfd[n] = (struct pollfd){.fd = link_fd, .events = POLLIN};
        owner[n++] = -1;
        pfd[n] = (struct pollfd){.fd = run->listen_fd, .events = POLLIN};
        owner[n++] = -2;
        if (!exited && pidfd >= 0) {
            pfd[n] = (struct pollfd){.fd = pidfd, .events = POLLIN};
            owner[n++] = -3;
        }
        for (unsigned i = 0; i < run->n_clients; i++) {
            pfd[n] = (struct pollfd){.fd = run->clients[i].fd, .events = POLLIN};
            owner[n++] = -100 - (int)i;
        }
        for (int i = 0; i < RUN_MAX_SOCKS; i++) {
            short ev = run->socks[i].state == R_FREE ? -1 : rsock_interest(&run->socks[i]);
            if (ev < 0)
                continue;
            pfd[n] = (struct pollfd){.fd = run->socks[i].fd, .events = ev};
            owner[n++] = i;
        }
        uint64_t wait_us = stack_next_timeout_us(stack);
        int timeout_ms = wait_us == UINT64_MAX ? 1000 : (int)((wait_us + 999) / 1000);
        if (timeout_ms > 100 && (exited || pidfd < 0))
            timeout_ms = 100; /* no pidfd to wake us: look at the child now and then */
        if (timeout_ms > 1000)
            timeout_ms = 1000;
        int r = poll(pfd, n, timeout_ms);
        if (r < 0 && errno != EINTR)
            break;
        if (pfd[0].revents & (POLLERR | POLLNVAL)) {
            fprintf(stderr, "tapir: run: the link failed\n");
            break;
        }
        stack_step(stack, stack_real_clock_us(stack));
        finish_closed(run);
        for (unsigned i = 1; r > 0 && i < n; i++) {
            if (!pfd[i].revents)
                continue;
            if (owner[i] == -2) {
                client_add(run);
            } else if (owner[i] <= -100) {
                /* clients are found by fd: an earlier removal may have moved them */
                for (unsigned c = 0; c < run->n_clients; c++)
                    if (run->clients[c].fd == pfd[i].fd && !client_serve(run, c)) {
                        client_remove(run, c);
                        break;
                    }
            } else if (owner[i] >= 0 && run->socks[owner[i]].fd == pfd[i].fd) {
                rsock_events(run, &run->socks[owner[i]], pfd[i].revents);
            }
        }
    }
    if (!exited) { /* the link failed: the program cannot go on */
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    for (int i = 0; i < RUN_MAX_SOCKS; i++) {
        struct rsock *r = &run->socks[i];
        if (r->state == R_FREE)
            continue;
        if (r->sock)
            sock_abort(r->sock); /* still open after the linger: as an exiting kernel would */
        r->sock = NULL;
        rsock_free(run, r);
    }
    while (run->n_clients)
        client_remove(run, 0);
    L5(run, "%lu requests from the program, %lu malformed", run->requests, run->bad_requests);
    if (pidfd >= 0)
        close(pidfd);
    close(run->listen_fd);
    free(run);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

int run_find_shim(char *path, size_t len)
{
    const char *env = getenv("TAPIR_SHIM");
    if (env && *env) {
        snprintf(path, len, "%s", env);
        return access(path, R_OK) == 0 ? 0 : -1;
    }
    /* beside the tapir binary: build/tapir and build/libtapir-shim.so */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return -1;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = 0;
    snprintf(path, len, "%s/libtapir-shim.so", exe);
    return access(path, R_OK) == 0 ? 0 : -1;
}
