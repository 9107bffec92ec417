/* tcp.c - placeholder until the TCP layer lands: every call reports -EPROTONOSUPPORT. */
#include "tcp.h"
#include "stack_impl.h"

#include <errno.h>

int tcp_init(struct stack *stack)
{
    (void)stack;
    return 0;
}

void tcp_fini(struct stack *stack)
{
    (void)stack;
}

void tcp_input(struct stack *stack, struct pkb *pkb)
{
    (void)stack;
    pkb_free(pkb);
}

struct tcb *tcp_open(struct stack *stack)
{
    (void)stack;
    return NULL;
}

void tcp_set_upcalls(struct tcb *tcb, const struct tcp_upcalls *up, void *ctx)
{
    (void)tcb, (void)up, (void)ctx;
}

int tcp_bind(struct tcb *tcb, uint32_t ip, uint16_t port)
{
    (void)tcb, (void)ip, (void)port;
    return -EPROTONOSUPPORT;
}

int tcp_listen(struct tcb *tcb, unsigned backlog)
{
    (void)tcb, (void)backlog;
    return -EPROTONOSUPPORT;
}

struct tcb *tcp_accept(struct tcb *listener)
{
    (void)listener;
    return NULL;
}

int tcp_connect(struct tcb *tcb, uint32_t ip, uint16_t port)
{
    (void)tcb, (void)ip, (void)port;
    return -EPROTONOSUPPORT;
}

ssize_t tcp_send(struct tcb *tcb, const void *buf, size_t len)
{
    (void)tcb, (void)buf, (void)len;
    return -EPROTONOSUPPORT;
}

ssize_t tcp_recv(struct tcb *tcb, void *buf, size_t len)
{
    (void)tcb, (void)buf, (void)len;
    return -EPROTONOSUPPORT;
}

int tcp_shutdown(struct tcb *tcb)
{
    (void)tcb;
    return -EPROTONOSUPPORT;
}

int tcp_close(struct tcb *tcb)
{
    (void)tcb;
    return 0;
}

void tcp_abort(struct tcb *tcb)
{
    (void)tcb;
}

int tcp_set_nodelay(struct tcb *tcb, bool on)
{
    (void)tcb, (void)on;
    return -EPROTONOSUPPORT;
}

int tcp_set_bufsize(struct tcb *tcb, size_t sndbuf, size_t rcvbuf)
{
    (void)tcb, (void)sndbuf, (void)rcvbuf;
    return -EPROTONOSUPPORT;
}

size_t tcp_send_space(const struct tcb *tcb)
{
    (void)tcb;
    return 0;
}

size_t tcp_send_pending(const struct tcb *tcb)
{
    (void)tcb;
    return 0;
}

void tcp_local(const struct tcb *tcb, uint32_t *ip, uint16_t *port)
{
    (void)tcb;
    *ip = 0;
    *port = 0;
}

int tcp_peer(const struct tcb *tcb, uint32_t *ip, uint16_t *port)
{
    (void)tcb, (void)ip, (void)port;
    return -ENOTCONN;
}

const char *tcp_state_name_of(const struct tcb *tcb)
{
    (void)tcb;
    return "CLOSED";
}
