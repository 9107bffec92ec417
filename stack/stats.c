/* stats.c - printing the counters listed in stats.h. */
#include "stats.h"

#include <inttypes.h>

static void print_counter(FILE *out, uint64_t value, const char *text, int all)
{
    if (value || all)
        fprintf(out, "    %" PRIu64 " %s\n", value, text);
}

void stack_stats_print(const struct stack_stats *s, FILE *out, int all)
{
#define PRINT(layer, name, text) print_counter(out, s->layer.name, text, all);
#define PRINT_ETH(name, text)    PRINT(eth, name, text)
#define PRINT_ARP(name, text)    PRINT(arp, name, text)
#define PRINT_IP(name, text)     PRINT(ip, name, text)
#define PRINT_ICMP(name, text)   PRINT(icmp, name, text)
#define PRINT_UDP(name, text)    PRINT(udp, name, text)
#define PRINT_TCP(name, text)    PRINT(tcp, name, text)
#define PRINT_SOCK(name, text)   PRINT(sock, name, text)
    fprintf(out, "Ethernet (L2):\n");
    ETH_COUNTERS(PRINT_ETH)
    fprintf(out, "ARP (L2/L3):\n");
    ARP_COUNTERS(PRINT_ARP)
    fprintf(out, "IPv4 (L3):\n");
    IP_COUNTERS(PRINT_IP)
    fprintf(out, "ICMP (L3):\n");
    ICMP_COUNTERS(PRINT_ICMP)
    fprintf(out, "UDP (L4):\n");
    UDP_COUNTERS(PRINT_UDP)
    fprintf(out, "TCP (L4):\n");
    TCP_COUNTERS(PRINT_TCP)
    fprintf(out, "Sockets (L5):\n");
    SOCK_COUNTERS(PRINT_SOCK)
#undef PRINT
}
