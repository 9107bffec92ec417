/* trace.c - trace lines and the pcap writer. */
#include "trace.h"
#include "bytes.h"
#include "stack_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    unsigned bit;
    const char *name;
    const char *osi; /* the OSI layer shown in each line */
} layers[] = {
    {TRACE_ETH, "eth", "L2"},   {TRACE_ARP, "arp", "L2"}, {TRACE_IP, "ip", "L3"},
    {TRACE_ICMP, "icmp", "L3"}, {TRACE_UDP, "udp", "L4"}, {TRACE_TCP, "tcp", "L4"},
    {TRACE_SOCK, "sock", "L5"}, {TRACE_APP, "app", "L7"}, {TRACE_LINK, "link", "L1"},
};
#define NLAYERS (sizeof(layers) / sizeof(layers[0]))

int trace_parse_layers(const char *list, unsigned *mask)
{
    *mask = 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 3 && !strncmp(p, "all", 3)) {
            *mask |= TRACE_ALL;
        } else if (n == 4 && !strncmp(p, "none", 4)) {
            /* nothing */
        } else {
            size_t i;
            for (i = 0; i < NLAYERS; i++)
                if (strlen(layers[i].name) == n && !strncmp(p, layers[i].name, n))
                    break;
            if (i == NLAYERS)
                return -1;
            *mask |= layers[i].bit;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

int stack_trace_enabled(const struct stack *stack, unsigned layer)
{
    return (stack->trace_mask & layer) != 0;
}

void trace_emit(struct stack *stack, unsigned layer, const char *fmt, ...)
{
    const char *osi = "L?", *name = "?";
    for (size_t i = 0; i < NLAYERS; i++)
        if (layers[i].bit == layer) {
            osi = layers[i].osi;
            name = layers[i].name;
        }
    uint64_t t = stack->now_us - stack->start_us;
    FILE *out = stack->trace_out ? stack->trace_out : stderr;
    fprintf(out, "[%4llu.%06llu] %s %-4s ", (unsigned long long)(t / 1000000),
            (unsigned long long)(t % 1000000), osi, name);
    if (stack->name[0])
        fprintf(out, "%s: ", stack->name);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
}

int pcap_open(struct stack *stack, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -errno;
    uint8_t hdr[24];
    put_le32(hdr, 0xa1b2c3d4); /* microsecond timestamps */
    put_le16(hdr + 4, 2);      /* version 2.4 */
    put_le16(hdr + 6, 4);
    put_le32(hdr + 8, 0);      /* GMT offset */
    put_le32(hdr + 12, 0);     /* accuracy */
    put_le32(hdr + 16, 65535); /* snap length */
    put_le32(hdr + 20, 1);     /* LINKTYPE_ETHERNET */
    if (fwrite(hdr, sizeof(hdr), 1, f) != 1) {
        fclose(f);
        return -EIO;
    }
    stack->pcap = f;
    return 0;
}

void pcap_write(struct stack *stack, const uint8_t *frame, size_t len)
{
    if (!stack->pcap)
        return;
    uint64_t t = stack->now_us + stack->wall_offset_us;
    uint8_t rec[16];
    put_le32(rec, (uint32_t)(t / 1000000));
    put_le32(rec + 4, (uint32_t)(t % 1000000));
    put_le32(rec + 8, (uint32_t)len);
    put_le32(rec + 12, (uint32_t)len);
    fwrite(rec, sizeof(rec), 1, stack->pcap);
    fwrite(frame, len, 1, stack->pcap);
    fflush(stack->pcap); /* a capture must survive the stack being killed */
}

void pcap_close(struct stack *stack)
{
    if (stack->pcap)
        fclose(stack->pcap);
    stack->pcap = NULL;
}
