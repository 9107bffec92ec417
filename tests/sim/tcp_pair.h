/* tcp_pair.h - the fixture most TCP sim tests share: one simulated wire, a client endpoint
 * `cli` on stack A, a server endpoint `srv` on stack B, and a connection between them on
 * PORT. A test program includes it once and adds pair_setup/pair_teardown (or its own
 * setup calling pair_init) as the Check fixture. */
#ifndef TAPIR_TCP_PAIR_H
#define TAPIR_TCP_PAIR_H

#include "tcp_sim.h"

#define PORT 7

static struct simnet net;
static struct ep cli, srv;

/* A fresh wire whose random numbers come from `seed`, and two idle endpoints. */
static inline void pair_init(unsigned seed)
{
    ck_assert(simnet_init(&net, seed, NULL, 0));
    ep_init(&cli, net.a);
    ep_init(&srv, net.b);
}

static inline void pair_setup(void)
{
    pair_init(1);
}

static inline void pair_teardown(void)
{
    simnet_fini(&net);
    ep_free(&cli);
    ep_free(&srv);
}

static inline bool both_connected(void *ctx)
{
    (void)ctx;
    return cli.connected && srv.tcb && srv.connected;
}

/* srv listens on PORT, cli connects: both ESTABLISHED (the listener stays open). */
static inline void open_connection(void)
{
    ep_listen(&srv, PORT, 4);
    ep_connect(&cli, SIM_IP_B, PORT);
    ck_assert(simnet_run(&net, 5000000, both_connected, NULL));
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "ESTABLISHED");
    ck_assert_str_eq(tcp_state_name_of(srv.tcb), "ESTABLISHED");
}

#endif
