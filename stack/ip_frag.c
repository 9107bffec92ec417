/* ip_frag.c - IPv4 reassembly (RFC 791 "Reassembly", RFC 815, RFC 1122 3.3.2).
 *
 * A datagram too big for a link is cut into fragments that share its identification. We
 * hold the pieces of each datagram, keyed by (source, destination, identification,
 * protocol) as RFC 791 says, until every byte is there, then hand the whole datagram back
 * to ip_input() as if it had arrived in one frame.
 *
 * Which bytes are still missing? RFC 815 keeps a list of "holes". We keep the same
 * knowledge as a bitmap with one bit per 8-byte block, 8 bytes being the unit of the
 * fragment offset field: every fragment starts on a block boundary, and every fragment but
 * the last is a whole number of blocks long. A hole of RFC 815 is a run of zero bits here.
 *
 *   offset:    0       8      16      24      32      40
 *   blocks:  [ 1 ][ 1 ][ 1 ][ 0 ][ 0 ][ 1 ][ 1 ] ...     bit set = block received
 *                              \_hole_/
 *
 * The datagram is complete when the last fragment (MF clear) has told us its length and
 * every block up to that length is set. 65535 bytes are 8192 blocks: 1 KiB of bits each.
 *
 * Robustness (every case is a drop, a counter and a trace line):
 * - a fragment that is empty, a non-last fragment whose length is not a multiple of 8, or
 *   one that would make the datagram longer than 65535 bytes is malformed (bad_fragment);
 * - fragments may repeat. One whose bytes equal what we hold is a duplicate and ignored;
 *   one that overlaps what we hold with different bytes, or ends after the end the last
 *   fragment gave, leaves no single true datagram, so the whole reassembly is dropped
 *   (the reasoning of RFC 5722, which forbids overlaps outright for IPv6) (overlap);
 * - at most cfg.reasm_max_datagrams reassemblies and cfg.reasm_max_bytes of data buffers
 *   at once. When a new fragment needs more, the oldest reassembly still incomplete is
 *   given up to make room (evicted), as Linux does: otherwise a few fragments that never
 *   complete (one 8-byte fragment at offset 65496 pins 64 KiB until the timeout) would
 *   lock every legitimate fragmented datagram out. A single datagram larger than all the
 *   buffers is still dropped (limit);
 * - each reassembly has a timer (cfg.reasm_timeout_ms from its first fragment). When it
 *   fires the pieces are freed, and if the first fragment was among them the sender gets
 *   ICMP time exceeded, code 1 "fragment reassembly time exceeded" (RFC 1122 3.3.2).
 */
#include "ip.h"
#include "bytes.h"
#include "checksum.h"
#include "icmp.h"
#include "pkb.h"
#include "stack_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK           8                          /* the unit of the fragment offset field */
#define MAX_BLOCKS      ((IP_MAX_LEN + 1) / BLOCK) /* 8192 blocks cover every possible offset */
#define IP_MAX_HDR_LEN  60
#define FIRST_DATA_KEPT 8 /* bytes after the header an ICMP error quotes (RFC 792) */

/* One datagram being put back together. */
struct reasm {
    /* the key (RFC 791): fragments of one datagram agree on all four */
    uint32_t src, dst;
    uint16_t id;
    uint8_t proto;

    uint8_t *data;                /* the datagram's payload (no IP header), offset 0 = first byte */
    size_t data_cap;              /* bytes allocated for data, counted against reasm_max_bytes */
    size_t max_end;               /* the highest fragment end seen so far */
    size_t total;                 /* payload length, known once the last fragment arrived */
    bool have_last;               /* the fragment with MF clear arrived: total is known */
    unsigned blocks_set;          /* bits set in `have` */
    uint8_t have[MAX_BLOCKS / 8]; /* bit b set: bytes [8b, 8b+8) have arrived */

    /* The first fragment (offset 0) carries the header the whole datagram gets (with any
     * options) and the start of the payload that an ICMP error must quote. */
    bool have_first;
    uint8_t first_hdr[IP_MAX_HDR_LEN + FIRST_DATA_KEPT];
    size_t first_hdr_len;  /* IP header length of the first fragment */
    size_t first_data_len; /* payload bytes kept after it (<= 8) */
    bool first_link_broadcast;
    uint8_t first_link_src[6];

    struct timer timer; /* gives up after cfg.reasm_timeout_ms */
    struct reasm *next;
};

struct ip_frag_state {
    struct reasm *list; /* reassemblies in progress */
    unsigned count;     /* how many: at most cfg.reasm_max_datagrams */
    size_t bytes;       /* sum of their data_cap: at most cfg.reasm_max_bytes */
};

static void reasm_timeout(struct stack *stack, void *arg);

int ip_frag_init(struct stack *stack)
{
    stack->ip_frag = calloc(1, sizeof(*stack->ip_frag));
    return stack->ip_frag ? 0 : -ENOMEM;
}

/* Unlink a reassembly, stop its timer and free its memory. */
static void reasm_free(struct stack *stack, struct reasm *r)
{
    struct ip_frag_state *fs = stack->ip_frag;
    for (struct reasm **pp = &fs->list; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    timer_cancel(stack, &r->timer);
    fs->count--;
    fs->bytes -= r->data_cap;
    free(r->data);
    free(r);
}

void ip_frag_fini(struct stack *stack)
{
    struct ip_frag_state *fs = stack->ip_frag;
    if (!fs)
        return;
    while (fs->list)
        reasm_free(stack, fs->list);
    free(fs);
    stack->ip_frag = NULL;
}

static void trace_reasm(struct stack *stack, const struct reasm *r, const char *what)
{
    char a[16], b[16];
    trace(stack, TRACE_IP, "reasm %s > %s id=%u proto=%u: %s", ip_str(r->src, a), ip_str(r->dst, b),
          r->id, r->proto, what);
}

/* Drop one fragment: count it, say why, free it. */
static struct pkb *drop_fragment(struct stack *stack, struct pkb *pkb, const struct ip_hdr *h,
                                 uint64_t *counter, const char *why)
{
    char a[16];
    (*counter)++;
    record_drop(stack, "ip", why);
    trace(stack, TRACE_IP, "reasm drop fragment from %s id=%u off=%u: %s", ip_str(h->src, a), h->id,
          h->frag_off, why);
    pkb_free(pkb);
    return NULL;
}

/* Drop a fragment and the whole reassembly it belongs to. */
static struct pkb *drop_reasm(struct stack *stack, struct reasm *r, struct pkb *pkb,
                              uint64_t *counter, const char *why)
{
    (*counter)++;
    record_drop(stack, "ip", why);
    trace_reasm(stack, r, why);
    reasm_free(stack, r);
    pkb_free(pkb);
    return NULL;
}

static struct reasm *find_reasm(struct stack *stack, const struct ip_hdr *h)
{
    for (struct reasm *r = stack->ip_frag->list; r; r = r->next)
        if (r->src == h->src && r->dst == h->dst && r->id == h->id && r->proto == h->proto)
            return r;
    return NULL;
}

/* Give up the oldest reassembly other than `keep` to make room for newer ones; false when
 * there is none. New reassemblies go to the front of the list: the oldest is the last. */
static bool evict_oldest(struct stack *stack, const struct reasm *keep)
{
    struct reasm *oldest = NULL;
    for (struct reasm *r = stack->ip_frag->list; r; r = r->next)
        if (r != keep)
            oldest = r;
    if (!oldest)
        return false;
    stack->stats.ip.reasm_evicted++;
    trace_reasm(stack, oldest, "evicted: buffers full, the oldest makes room");
    reasm_free(stack, oldest);
    return true;
}

/* A new, empty reassembly; when cfg.reasm_max_datagrams are in progress the oldest goes. */
static struct reasm *new_reasm(struct stack *stack, const struct ip_hdr *h)
{
    struct ip_frag_state *fs = stack->ip_frag;
    if (fs->count >= stack->cfg.reasm_max_datagrams && !evict_oldest(stack, NULL))
        return NULL;
    struct reasm *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->src = h->src;
    r->dst = h->dst;
    r->id = h->id;
    r->proto = h->proto;
    timer_init(&r->timer, reasm_timeout, r);
    timer_arm(stack, &r->timer, (uint64_t)stack->cfg.reasm_timeout_ms * 1000);
    r->next = fs->list;
    fs->list = r;
    fs->count++;
    trace_reasm(stack, r, "new reassembly");
    return r;
}

static bool block_has(const struct reasm *r, size_t b)
{
    return r->have[b / 8] & (1u << (b % 8));
}

static void block_set(struct reasm *r, size_t b)
{
    if (!block_has(r, b)) {
        r->have[b / 8] |= (uint8_t)(1u << (b % 8));
        r->blocks_set++;
    }
}

/* Blocks [first, last] that bytes [off, end) touch (end > off). */
static size_t first_block(size_t off)
{
    return off / BLOCK;
}
static size_t last_block(size_t end)
{
    return (end - 1) / BLOCK;
}

/* How the fragment's bytes [off, end) relate to what we already hold. */
enum overlap { NEW_DATA, DUPLICATE, CONFLICT };

static enum overlap compare_with_held(const struct reasm *r, const uint8_t *bytes, size_t off,
                                      size_t end)
{
    /* LAB frag: begin */
    bool all_held = true;
    for (size_t b = first_block(off); b <= last_block(end); b++) {
        if (!block_has(r, b)) {
            all_held = false;
            continue;
        }
        /* A set block holds all its bytes, except the final block of the datagram, which
         * holds bytes up to `total`; end <= total has been checked, so this range is held. */
        size_t lo = b * BLOCK > off ? b * BLOCK : off;
        size_t hi = b * BLOCK + BLOCK < end ? b * BLOCK + BLOCK : end;
        if (memcmp(r->data + lo, bytes + (lo - off), hi - lo) != 0)
            return CONFLICT;
    }
    return all_held ? DUPLICATE : NEW_DATA;
    /* LAB frag: end */
}

/* Make room for payload bytes up to `end`, within cfg.reasm_max_bytes. */
static int grow_buffer(struct stack *stack, struct reasm *r, size_t end)
{
    struct ip_frag_state *fs = stack->ip_frag;
    if (end <= r->data_cap)
        return 0;
    size_t more = end - r->data_cap;
    if (more > stack->cfg.reasm_max_bytes)
        return -ENOBUFS; /* could never fit, whatever we evict */
    while (fs->bytes + more > stack->cfg.reasm_max_bytes)
        if (!evict_oldest(stack, r))
            return -ENOBUFS;
    uint8_t *p = realloc(r->data, end);
    if (!p)
        return -ENOMEM;
    memset(p + r->data_cap, 0, more);
    r->data = p;
    r->data_cap = end;
    fs->bytes += more;
    return 0;
}

/* Keep what the finished datagram and an ICMP error need from the fragment at offset 0. */
static void save_first(struct reasm *r, const struct pkb *pkb, size_t hlen, size_t len)
{
    r->have_first = true;
    r->first_hdr_len = hlen;
    r->first_data_len = len < FIRST_DATA_KEPT ? len : FIRST_DATA_KEPT;
    memcpy(r->first_hdr, pkb->data, hlen + r->first_data_len);
    r->first_link_broadcast = pkb->meta.link_broadcast;
    memcpy(r->first_link_src, pkb->meta.link_src, 6);
}

static bool complete(const struct reasm *r)
{
    /* LAB frag: begin */
    return r->have_last && r->blocks_set == (r->total + BLOCK - 1) / BLOCK;
    /* LAB frag: end */
}

/* RFC 791: the whole datagram gets the first fragment's header, with the total length of
 * all the data, MF and the offset cleared, and a new checksum. */
static struct pkb *build_datagram(struct stack *stack, struct reasm *r)
{
    size_t hlen = r->first_hdr_len;
    struct pkb *pkb = pkb_alloc(hlen + r->total);
    if (!pkb)
        return NULL;
    uint8_t *p = pkb_put(pkb, hlen + r->total);
    memcpy(p, r->first_hdr, hlen);
    memcpy(p + hlen, r->data, r->total);
    put_be16(p + 2, (uint16_t)(hlen + r->total));
    put_be16(p + 6, get_be16(p + 6) & IP_FLAG_DF); /* MF and offset to 0; DF as it was */
    put_be16(p + 10, 0);
    put_be16(p + 10, inet_checksum(p, hlen));
    pkb->meta.link_broadcast = r->first_link_broadcast;
    memcpy(pkb->meta.link_src, r->first_link_src, 6);
    return pkb;
}

/* RFC 1122 3.3.2: when the timer runs out, drop the pieces; if the first fragment was
 * among them, tell the sender with ICMP time exceeded, code 1. */
static void reasm_timeout(struct stack *stack, void *arg)
{
    struct reasm *r = arg;
    stack->stats.ip.reasm_timeout++;
    record_timer(stack, "ip", "reassembly timeout");
    trace_reasm(stack, r, r->have_first ? "timed out: sending time exceeded" : "timed out");
    if (r->have_first) {
        /* icmp_send_error quotes pkb->meta.ip_hdr and the bytes after it, so rebuild a
         * packet that looks like the first fragment as it arrived, header pulled. */
        struct pkb *first = pkb_from_bytes(r->first_hdr, r->first_hdr_len + r->first_data_len);
        if (first) {
            first->meta.link_broadcast = r->first_link_broadcast;
            memcpy(first->meta.link_src, r->first_link_src, 6);
            first->meta.ip_src = r->src;
            first->meta.ip_dst = r->dst;
            first->meta.ip_proto = r->proto;
            first->meta.ip_ttl = r->first_hdr[8];
            first->meta.ip_broadcast = ip_is_broadcast(stack, r->dst);
            first->meta.ip_hdr = first->data;
            first->meta.ip_hdr_len = r->first_hdr_len;
            pkb_pull(first, r->first_hdr_len);
            icmp_send_error(stack, first, ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME);
            pkb_free(first);
        }
    }
    reasm_free(stack, r);
}

struct pkb *ip_reassemble(struct stack *stack, struct pkb *pkb, const struct ip_hdr *h)
{
    /* LAB frag: begin */
    struct ip_stats *st = &stack->stats.ip;
    size_t hlen = (size_t)h->ihl * 4;
    size_t len = h->total_len - hlen; /* ip_parse checked hlen <= total_len <= pkb->len */
    size_t off = h->frag_off;
    size_t end = off + len;
    bool last = !h->mf;

    /* First, is the fragment well formed on its own? */
    if (len == 0)
        return drop_fragment(stack, pkb, h, &st->reasm_bad_fragment, "no data");
    if (!last && len % BLOCK != 0)
        return drop_fragment(stack, pkb, h, &st->reasm_bad_fragment,
                             "not the last, yet not a multiple of 8 bytes");
    if (hlen + end > IP_MAX_LEN)
        return drop_fragment(stack, pkb, h, &st->reasm_bad_fragment,
                             "would make a datagram over 65535 bytes");

    /* Which datagram is it part of? A new one needs a free slot. */
    struct reasm *r = find_reasm(stack, h);
    if (!r && !(r = new_reasm(stack, h)))
        return drop_fragment(stack, pkb, h, &st->reasm_limit, "too many reassemblies at once");

    char what[80];
    snprintf(what, sizeof(what), "fragment off=%zu len=%zu%s", off, len, last ? " (last)" : "");
    trace_reasm(stack, r, what);

    /* Does it agree with the end of the datagram, if we know it (or are told it now)? */
    if (r->have_last && end > r->total)
        return drop_reasm(stack, r, pkb, &st->reasm_overlap, "fragment ends past the last one");
    if (r->have_last && last && end != r->total)
        return drop_reasm(stack, r, pkb, &st->reasm_overlap, "a second, different last fragment");
    if (last && r->max_end > end)
        return drop_reasm(stack, r, pkb, &st->reasm_overlap, "last fragment ends before others");

    /* Does it agree with the bytes we hold? */
    const uint8_t *bytes = pkb->data + hlen;
    switch (compare_with_held(r, bytes, off, end)) {
    case CONFLICT:
        return drop_reasm(stack, r, pkb, &st->reasm_overlap, "overlap with different bytes");
    case DUPLICATE:
        return drop_fragment(stack, pkb, h, &st->reasm_duplicate, "duplicate");
    case NEW_DATA:
        break;
    }

    /* Keep its bytes and mark its blocks as arrived. */
    if (grow_buffer(stack, r, end) < 0) {
        struct pkb *none = drop_fragment(stack, pkb, h, &st->reasm_limit, "buffers full");
        if (r->blocks_set == 0) /* a reassembly that holds nothing would only wait */
            reasm_free(stack, r);
        return none;
    }
    memcpy(r->data + off, bytes, len);
    for (size_t b = first_block(off); b <= last_block(end); b++)
        block_set(r, b);
    if (end > r->max_end)
        r->max_end = end;
    if (off == 0 && !r->have_first)
        save_first(r, pkb, hlen, len);
    if (last) {
        r->have_last = true;
        r->total = end;
    }
    pkb_free(pkb);

    if (!complete(r))
        return NULL;

    /* Every hole is filled. */
    if (r->first_hdr_len + r->total > IP_MAX_LEN) {
        st->reasm_bad_fragment++;
        trace_reasm(stack, r, "drop: reassembled datagram would exceed 65535 bytes");
        reasm_free(stack, r);
        return NULL;
    }
    struct pkb *whole = build_datagram(stack, r);
    if (whole) {
        st->reasm_ok++;
        snprintf(what, sizeof(what), "complete, %zu bytes", r->first_hdr_len + r->total);
        trace_reasm(stack, r, what);
    } else {
        st->reasm_limit++;
        trace_reasm(stack, r, "drop: no memory for the whole datagram");
    }
    reasm_free(stack, r);
    return whole;
    /* LAB frag: end */
}
