/* lwip_echo.c - lwIP as a reference for `make bench`: echo (RFC 862, port 7) and discard
 * (RFC 863, port 9) over TCP, served by lwIP on a TAP device, in the lab's address plan
 * (lwIP is 10.0.0.2/24, the kernel 10.0.0.1), so `benchtool cps`/`rtt` reach it exactly as
 * they reach tapir. Optional and not part of tapir: built by `make bench` only when
 * Debian's liblwip-dev (lwIP 2.1.3 and its unix port) is installed.
 *
 *   lwip_echo [TAP]     (TAP: tap0) prints "lwip: up" once it serves; runs until killed
 *
 * Debian builds lwIP with an OS (NO_SYS 0, core locking): tcpip_init starts lwIP's own
 * thread, and the unix port's tapif_init opens the TAP device and starts a thread that
 * reads it and hands each frame to that thread (tcpip_input). PRECONFIGURED_TAPIF names the
 * device and keeps tapif from running ifconfig on it (the lab has already set it up).
 * Everything below the main thread runs in lwIP's thread, through the raw TCP API: the
 * accept callback runs once for every connection lwIP completes (there is no queue to
 * drain, so it never falls behind the way a server accepting once per poll() does).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"
#include "netif/tapif.h"

#define ECHO_PORT    7
#define DISCARD_PORT 9

static struct netif tap_netif;
static pthread_mutex_t up_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t up_cond = PTHREAD_COND_INITIALIZER;
static int up; /* 1: serving, -1: failed */

static void close_or_abort(struct tcp_pcb *pcb)
{
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_err(pcb, NULL);
    if (tcp_close(pcb) != ERR_OK)
        tcp_abort(pcb);
}

/* Echo: everything back; a segment that does not fit the send buffer is refused (ERR_MEM)
 * and lwIP offers it again later. Discard: acknowledged and dropped. The peer's FIN (p ==
 * NULL): close our side too. */
static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    int echo = arg != NULL;
    if (p == NULL || err != ERR_OK) {
        if (p)
            pbuf_free(p);
        close_or_abort(pcb);
        return p == NULL ? ERR_OK : ERR_ABRT;
    }
    if (echo) {
        if (tcp_sndbuf(pcb) < p->tot_len)
            return ERR_MEM;
        for (struct pbuf *q = p; q != NULL; q = q->next)
            if (tcp_write(pcb, q->payload, q->len, TCP_WRITE_FLAG_COPY) != ERR_OK)
                return ERR_MEM; /* not queued whole: lwIP keeps p and offers it again */
        tcp_output(pcb);
    }
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
}

static void on_error(void *arg, err_t err)
{
    (void)arg; /* lwIP has freed the pcb already (reset or aborted): nothing to undo */
    (void)err;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    if (err != ERR_OK || pcb == NULL)
        return ERR_VAL;
    tcp_arg(pcb, arg);
    tcp_recv(pcb, on_recv);
    tcp_err(pcb, on_error);
    tcp_nagle_disable(pcb); /* as benchtool echod (TCP_NODELAY) */
    return ERR_OK;
}

static int listen_on(u16_t port, int echo)
{
    struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
    if (pcb == NULL || tcp_bind(pcb, IP4_ADDR_ANY, port) != ERR_OK)
        return -1;
    struct tcp_pcb *lpcb = tcp_listen_with_backlog(pcb, 255);
    if (lpcb == NULL)
        return -1;
    tcp_arg(lpcb, echo ? (void *)&tap_netif : NULL); /* non-NULL: echo */
    tcp_accept(lpcb, on_accept);
    return 0;
}

/* Runs in lwIP's thread once it has started. */
static void start(void *arg)
{
    (void)arg;
    ip4_addr_t addr, mask, gw;
    IP4_ADDR(&addr, 10, 0, 0, 2);
    IP4_ADDR(&mask, 255, 255, 255, 0);
    IP4_ADDR(&gw, 10, 0, 0, 1);
    int ok = netif_add(&tap_netif, &addr, &mask, &gw, NULL, tapif_init, tcpip_input) != NULL;
    if (ok) {
        netif_set_default(&tap_netif);
        netif_set_up(&tap_netif);
        ok = listen_on(ECHO_PORT, 1) == 0 && listen_on(DISCARD_PORT, 0) == 0;
    }
    pthread_mutex_lock(&up_lock);
    up = ok ? 1 : -1;
    pthread_cond_signal(&up_cond);
    pthread_mutex_unlock(&up_lock);
}

int main(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: lwip_echo [TAP]\n");
        return 2;
    }
    setenv("PRECONFIGURED_TAPIF", argc == 2 ? argv[1] : "tap0", 1);
    tcpip_init(start, NULL);
    pthread_mutex_lock(&up_lock);
    while (up == 0)
        pthread_cond_wait(&up_cond, &up_lock);
    pthread_mutex_unlock(&up_lock);
    if (up < 0) {
        fprintf(stderr, "lwip_echo: could not set up lwIP\n");
        return 1;
    }
    printf("lwip: up (lwIP %s, 10.0.0.2, echo %d, discard %d)\n", LWIP_VERSION_STRING, ECHO_PORT,
           DISCARD_PORT);
    fflush(stdout);
    for (;;)
        pause(); /* lwIP's threads do the work; killed by bench.sh */
    return 0;
}
