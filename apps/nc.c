/* nc.c - `tapir nc`: a netcat on tapir's sockets. stdin goes to the connection, the
 * connection goes to stdout.
 *
 *   tapir nc HOST PORT        TCP client          tapir nc -u HOST PORT     UDP client
 *   tapir nc -l PORT          TCP server, one     tapir nc -u -l PORT       UDP server
 *                             connection
 *   -s ADDR    bind the client to this local address (as OpenBSD nc)
 *   -K SECS    TCP keep-alive: a probe after SECS of silence, every SECS, 3 unanswered
 *              and the connection is dead (RFC 9293 3.8.4)
 *   -U TEXT    TCP: send TEXT first, its last byte as urgent data (send MSG_OOB); an
 *              urgent byte from the peer is printed on stderr, not stdout
 *
 * TCP ends like OpenBSD nc with -N: at the end of stdin we send FIN (sock_shutdown) and
 * wait for the peer's; when the peer ends first we end too. Before exiting we wait
 * (bounded) until the peer has acknowledged everything, so no data is lost.
 */
#include "apps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NC_BUF         65536
#define LINGER_POLL_US 5000
#define LINGER_MAX_US  10000000 /* give up waiting for the peer's ACKs after 10 s */
/* After the peer's FIN: stay a moment in what is TIME-WAIT for TCP, to answer the FIN
 * again if our ACK of it was lost. A kernel keeps TIME-WAIT after its process exits; our
 * stack lives in this process, so the process stays (long enough for one retransmission
 * at Linux's minimum RTO of 200 ms). */
#define TIME_WAIT_US 400000
#define UDP_CHUNK    8192 /* bytes of stdin per datagram */

struct nc {
    struct stack *stack;
    const struct nc_options *opt;
    volatile sig_atomic_t *stop;
    struct sock *listener, *sock;
    uint8_t in[NC_BUF];
    size_t in_off, in_len; /* stdin bytes sock_send() has not taken yet */
    bool stdin_watched, stdin_eof, peer_eof, shut_sent, finishing;
    uint32_t peer_ip; /* UDP server: who to answer */
    uint16_t peer_port;
    bool have_peer;
    uint64_t linger_start;
    uint64_t acked_at; /* when all we sent was acknowledged after the peer's FIN */
    struct timer linger;
    int exit_code;
};

static void fail(struct nc *nc, const char *what, int err)
{
    fprintf(stderr, "tapir: nc: %s: %s\n", what, strerror(err < 0 ? -err : err));
    nc->exit_code = 1;
    *nc->stop = 1;
}

static void write_stdout(const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = write(STDOUT_FILENO, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* stdout closed: nothing sensible to do with the data */
        buf += n;
        len -= (size_t)n;
    }
}

static void on_stdin(struct stack *stack, int fd, void *ctx);

static void watch_stdin(struct nc *nc, bool on)
{
    if (on == nc->stdin_watched || nc->stdin_eof)
        return;
    if (on)
        stack_watch_fd(nc->stack, STDIN_FILENO, on_stdin, nc);
    else
        stack_unwatch_fd(nc->stack, STDIN_FILENO);
    nc->stdin_watched = on;
}

/* Poll until everything we sent is acknowledged (TCP) or has left (UDP). */
static void linger_tick(struct stack *stack, void *arg)
{
    struct nc *nc = arg;
    uint64_t waited = stack_now_us(stack) - nc->linger_start;
    /* UDP has no ACKs: done once no datagram still waits for ARP (it may take a retry). */
    bool acked =
        nc->opt->udp ? stack_packets_waiting(stack) == 0 : sock_send_pending(nc->sock) == 0;
    if (acked && !nc->opt->udp && nc->peer_eof && !nc->acked_at)
        nc->acked_at = stack_now_us(stack);
    bool done = nc->opt->udp ? acked
                             : acked && (!nc->peer_eof ||
                                         stack_now_us(stack) - nc->acked_at >= TIME_WAIT_US);
    if (done || waited >= LINGER_MAX_US) {
        *nc->stop = 1;
        return;
    }
    timer_arm(stack, &nc->linger, LINGER_POLL_US);
}

static void finish(struct nc *nc)
{
    if (nc->finishing)
        return;
    nc->finishing = true;
    watch_stdin(nc, false);
    if (nc->sock && !nc->opt->udp && !nc->shut_sent) {
        sock_shutdown(nc->sock, SOCK_SHUT_WR);
        nc->shut_sent = true;
    }
    nc->linger_start = stack_now_us(nc->stack);
    linger_tick(nc->stack, nc);
}

/* Hand pending stdin bytes to TCP; true when all were taken. */
static bool push_stdin(struct nc *nc)
{
    while (nc->in_len) {
        ssize_t n = sock_send(nc->sock, nc->in + nc->in_off, nc->in_len);
        if (n == -EAGAIN || n == 0)
            return false;
        if (n < 0) {
            fail(nc, "send", (int)n);
            return false;
        }
        nc->in_off += (size_t)n;
        nc->in_len -= (size_t)n;
    }
    return true;
}

static void stdin_ended(struct nc *nc)
{
    watch_stdin(nc, false);
    nc->stdin_eof = true;
    if (nc->opt->udp) {
        if (!nc->opt->listen)
            finish(nc);
        return;
    }
    if (nc->in_len == 0 && !nc->shut_sent) { /* all handed to TCP: FIN goes after it */
        sock_shutdown(nc->sock, SOCK_SHUT_WR);
        nc->shut_sent = true;
    }
}

/* One datagram per stdin read: UDP has no flow control, so we go at the pace of poll(). */
static void stdin_to_udp(struct nc *nc, size_t n)
{
    ssize_t r;
    if (nc->opt->listen)
        r = nc->have_peer ? sock_sendto(nc->sock, nc->in, n, nc->peer_ip, nc->peer_port)
                          : 0; /* nobody to send to yet, as with nc -u -l */
    else
        r = sock_send(nc->sock, nc->in, n);
    if (r < 0)
        fprintf(stderr, "tapir: nc: send: %s\n", strerror((int)-r));
}

static void on_stdin(struct stack *stack, int fd, void *ctx)
{
    struct nc *nc = ctx;
    (void)stack;
    /* TCP: keep reading while TCP takes it all (bounded), so a fast source is not held to
     * one read per trip around the event loop. */
    for (int i = 0; i < 16; i++) {
        size_t room = nc->opt->udp ? UDP_CHUNK : sizeof(nc->in);
        ssize_t n = read(fd, nc->in, room);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            stdin_ended(nc);
            return;
        }
        if (nc->opt->udp) {
            stdin_to_udp(nc, (size_t)n);
            return;
        }
        nc->in_off = 0;
        nc->in_len = (size_t)n;
        if (!push_stdin(nc)) {
            watch_stdin(nc, false); /* TCP is full: wait for on_writable */
            return;
        }
    }
}

static void on_readable(struct sock *s, void *ctx)
{
    struct nc *nc = ctx;
    static uint8_t buf[NC_BUF];
    for (int i = 0; i < 64; i++) {
        uint32_t ip;
        uint16_t port;
        ssize_t n = sock_recvfrom(s, buf, sizeof(buf), &ip, &port);
        if (n == -EAGAIN)
            return;
        if (n < 0) {
            if (nc->opt->udp && !nc->opt->listen) {
                fail(nc, "read", (int)n); /* the error on_error reported, again */
                return;
            }
            continue;
        }
        if (nc->opt->udp) {
            if (nc->opt->listen && !nc->have_peer) {
                nc->peer_ip = ip;
                nc->peer_port = port;
                nc->have_peer = true;
            }
            write_stdout(buf, (size_t)n);
            continue;
        }
        if (n == 0) { /* the peer's FIN: we end too */
            nc->peer_eof = true;
            finish(nc);
            return;
        }
        write_stdout(buf, (size_t)n);
    }
}

static void on_writable(struct sock *s, void *ctx)
{
    struct nc *nc = ctx;
    (void)s;
    if (!push_stdin(nc))
        return;
    if (nc->stdin_eof && !nc->shut_sent) {
        sock_shutdown(nc->sock, SOCK_SHUT_WR);
        nc->shut_sent = true;
    } else if (!nc->finishing) {
        watch_stdin(nc, true);
    }
}

static void on_connect(struct sock *s, void *ctx)
{
    struct nc *nc = ctx;
    const char *u = nc->opt->urgent;
    if (u && *u && sock_send_oob(s, u, strlen(u)) < (ssize_t)strlen(u)) {
        fail(nc, "send urgent", -EAGAIN);
        return;
    }
    watch_stdin(nc, true);
}

/* The peer's urgent byte is not part of the stream: say it on stderr, as data apart. */
static void on_urgent(struct sock *s, void *ctx)
{
    uint8_t b;
    (void)ctx;
    if (sock_recv_oob(s, &b) == 1)
        fprintf(stderr, "tapir: nc: urgent byte 0x%02x\n", b);
}

static void on_closed(struct sock *s, void *ctx)
{
    on_readable(s, ctx); /* read what is left; the 0 at the end finishes */
}

static void on_error(struct sock *s, int err, void *ctx)
{
    struct nc *nc = ctx;
    (void)s;
    if (nc->opt->udp) {
        /* a client's datagrams cannot arrive: say why and stop, as a TCP client would
         * (a server keeps serving its other peers) */
        if (!nc->opt->listen && err == -ECONNREFUSED)
            fail(nc, "connection refused by the peer (ICMP port unreachable)", err);
        else if (!nc->opt->listen)
            fail(nc, "a datagram could not be delivered", err);
        return;
    }
    fail(nc, nc->peer_eof || nc->shut_sent ? "connection" : "connect", err);
}

static const struct sock_events conn_events = {
    .on_connect = on_connect,
    .on_readable = on_readable,
    .on_writable = on_writable,
    .on_closed = on_closed,
    .on_error = on_error,
    .on_urgent = on_urgent,
};

static void on_accept(struct sock *listener, void *ctx)
{
    struct nc *nc = ctx;
    if (nc->sock || sock_accept(listener, &nc->sock) < 0)
        return;
    sock_close(listener); /* one connection, as nc -l */
    nc->listener = NULL;
    sock_on(nc->sock, &conn_events, nc);
    watch_stdin(nc, true);
    on_readable(nc->sock, nc);
}

static const struct sock_events listener_events = {.on_accept = on_accept};

static int start(struct nc *nc)
{
    const struct nc_options *o = nc->opt;
    enum sock_type type = o->udp ? SOCK_TYPE_UDP : SOCK_TYPE_TCP;
    int err;
    if (o->listen && !o->udp) {
        nc->listener = sock_open(nc->stack, type);
        if (!nc->listener)
            return -ENOMEM;
        sock_on(nc->listener, &listener_events, nc);
        if ((err = sock_bind(nc->listener, 0, o->port)) < 0 ||
            (err = sock_listen(nc->listener, 1)) < 0)
            return err;
        return 0;
    }
    nc->sock = sock_open(nc->stack, type);
    if (!nc->sock)
        return -ENOMEM;
    sock_on(nc->sock, &conn_events, nc);
    if (o->listen) /* UDP server */
        return sock_bind(nc->sock, 0, o->port);
    if (o->source && (err = sock_bind(nc->sock, o->source, 0)) < 0)
        return err;
    if (o->keepalive_s && !o->udp) {
        /* -K: probe after SECONDS of silence, every SECONDS, dead after 3 unanswered */
        int s = (int)o->keepalive_s;
        if ((err = sock_setopt(nc->sock, SOCK_OPT_KEEPIDLE, s)) < 0 ||
            (err = sock_setopt(nc->sock, SOCK_OPT_KEEPINTVL, s)) < 0 ||
            (err = sock_setopt(nc->sock, SOCK_OPT_KEEPCNT, 3)) < 0 ||
            (err = sock_setopt(nc->sock, SOCK_OPT_KEEPALIVE, 1)) < 0)
            return err;
    }
    if ((err = sock_connect(nc->sock, o->host, o->port)) < 0)
        return err;
    if (o->udp)
        watch_stdin(nc, true); /* UDP needs no handshake */
    return 0;
}

int nc_run(struct stack *stack, const struct nc_options *opt, volatile sig_atomic_t *stop)
{
    struct nc *nc = calloc(1, sizeof(*nc));
    if (!nc)
        return 1;
    nc->stack = stack;
    nc->opt = opt;
    nc->stop = stop;
    timer_init(&nc->linger, linger_tick, nc);
    fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
    int err = start(nc);
    if (err < 0) {
        fail(nc, opt->listen ? "listen" : "connect", err);
    } else {
        stack_run(stack, stop);
    }
    timer_cancel(stack, &nc->linger);
    watch_stdin(nc, false);
    if (nc->listener)
        sock_close(nc->listener);
    if (nc->sock)
        sock_close(nc->sock);
    int rc = nc->exit_code;
    free(nc);
    return rc;
}
