/* icmp.c - ICMP (RFC 792): echo and error messages, part of the network layer.
 *
 *  0       1       2               4                               8
 *  +-------+-------+---------------+-------------------------------+
 *  | type  | code  |   checksum    | identifier    | sequence      |  (echo)
 *  +-------+-------+---------------+-------------------------------+
 *  | data ...  (echo: anything; errors: the offending IP header + 8 bytes)
 *
 * We answer echo requests, send echo requests for `tapir ping`, send destination
 * unreachable for closed ports and unknown protocols, and pass received errors to the
 * transport whose datagram caused them.
 */
#include "icmp.h"
#include "bytes.h"
#include "checksum.h"
#include "ip.h"
#include "pkb.h"
#include "stack_impl.h"

#include <errno.h>
#include <string.h>

int icmp_parse(const uint8_t *b, size_t len, struct icmp_hdr *h)
{
    if (len < ICMP_HDR_LEN)
        return -1;
    h->type = b[0];
    h->code = b[1];
    h->checksum = get_be16(b + 2);
    h->rest = get_be32(b + 4);
    return 0;
}

void icmp_build(const struct icmp_hdr *h, uint8_t *b)
{
    b[0] = h->type;
    b[1] = h->code;
    put_be16(b + 2, h->checksum);
    put_be32(b + 4, h->rest);
}

/* A local failure about an ICMP message we sent (ARP never resolved its next hop): tell
 * the ping application, as Linux's ping says "Destination Host Unreachable" from itself.
 * (Errors that arrive as ICMP messages are handled in deliver_error below.) */
static void icmp_error(struct stack *stack, const struct ip_error *err)
{
    if (err->icmp_type != 0 || err->l4_len < ICMP_HDR_LEN || err->l4[0] != ICMP_ECHO_REQUEST ||
        !stack->ping_fn)
        return;
    struct ping_event ev = {
        .kind = PING_UNREACHABLE,
        .from = err->reporter,
        .id = get_be16(err->l4 + 4),
        .seq = get_be16(err->l4 + 6),
        .code = ICMP_UNREACH_HOST,
    };
    stack->ping_fn(stack->ping_ctx, &ev);
}

int icmp_init(struct stack *stack)
{
    stack_register_ip_protocol(stack, IP_PROTO_ICMP, icmp_input, icmp_error);
    return 0;
}

/* Prepend an ICMP header to pkb (which holds the message body), checksum the whole
 * message, and send it with the IP options given (none: NULL, 0). Takes ownership. */
static int send_message(struct stack *stack, struct pkb *pkb, uint32_t dst, uint8_t type,
                        uint8_t code, uint32_t rest, const uint8_t *options, size_t options_len)
{
    struct icmp_hdr h = {.type = type, .code = code, .checksum = 0, .rest = rest};
    uint8_t *p = pkb_push(pkb, ICMP_HDR_LEN);
    if (!p) {
        pkb_free(pkb);
        return -ENOBUFS;
    }
    icmp_build(&h, p);
    put_be16(p + 2, inet_checksum(p, pkb->len));
    /* TOS 0, as RFC 1122 3.2.2 asks of error messages */
    struct ip_send send = {
        .dst = dst, .proto = IP_PROTO_ICMP, .options = options, .options_len = options_len};
    return ip_output(stack, pkb, &send);
}

static void drop(struct stack *stack, struct pkb *pkb, uint64_t *counter, const char *why)
{
    (*counter)++;
    record_drop(stack, "icmp", why);
    trace(stack, TRACE_ICMP, "drop: %s", why);
    pkb_free(pkb);
}

/* RFC 1122 3.2.2.6: a request's Record Route and Timestamp options go back in the reply,
 * with this host added, so that the route recorded is the whole round trip. */
static size_t echo_reply_options(struct stack *stack, const struct pkb *pkb,
                                 uint8_t opts[IP_OPTS_MAX])
{
    if (!pkb->meta.ip_hdr || pkb->meta.ip_hdr_len <= IP_HDR_LEN)
        return 0;
    /* RFC 791: milliseconds since midnight UT (the simulator's clock starts at 0) */
    uint64_t now_ms = (stack->now_us + stack->wall_offset_us) / 1000;
    return ip_options_reflect(pkb->meta.ip_hdr + IP_HDR_LEN, pkb->meta.ip_hdr_len - IP_HDR_LEN,
                              pkb->meta.ip_dst, (uint32_t)(now_ms % 86400000u), opts);
}

/* RFC 792 "Echo or Echo Reply Message": swap the addresses, change the type to 0, and
 * send the same identifier, sequence and data back. */
static void answer_echo(struct stack *stack, struct pkb *pkb, const struct icmp_hdr *h)
{
    /* LAB icmp: begin */
    char a[16];
    stack->stats.icmp.echo_requests_rx++;
    trace(stack, TRACE_ICMP, "echo request from %s id=%u seq=%u len=%zu",
          ip_str(pkb->meta.ip_src, a), h->rest >> 16, h->rest & 0xffff, pkb->len);
    /* Like Linux (icmp_echo_ignore_broadcasts), we do not answer broadcast pings: one
     * request would otherwise draw a reply from every host on the link. */
    if (pkb->meta.ip_broadcast || pkb->meta.link_broadcast)
        return drop(stack, pkb, &stack->stats.icmp.echo_broadcast_ignored,
                    "echo request to a broadcast address is not answered");
    stack->stats.icmp.echo_replies_tx++;
    pkb_pull(pkb, ICMP_HDR_LEN);
    trace(stack, TRACE_ICMP, "echo reply to %s id=%u seq=%u", ip_str(pkb->meta.ip_src, a),
          h->rest >> 16, h->rest & 0xffff);
    uint8_t opts[IP_OPTS_MAX];
    size_t opts_len = echo_reply_options(stack, pkb, opts);
    send_message(stack, pkb, pkb->meta.ip_src, ICMP_ECHO_REPLY, 0, h->rest, opts, opts_len);
    /* LAB icmp: end */
}

static void deliver_echo_reply(struct stack *stack, struct pkb *pkb, const struct icmp_hdr *h)
{
    char a[16];
    stack->stats.icmp.echo_replies_rx++;
    trace(stack, TRACE_ICMP, "echo reply from %s id=%u seq=%u len=%zu", ip_str(pkb->meta.ip_src, a),
          h->rest >> 16, h->rest & 0xffff, pkb->len);
    if (stack->ping_fn) {
        struct ping_event ev = {
            .kind = PING_REPLY,
            .from = pkb->meta.ip_src,
            .id = (uint16_t)(h->rest >> 16),
            .seq = (uint16_t)h->rest,
            .ttl = pkb->meta.ip_ttl,
            .len = pkb->len,
            .data = pkb->data + ICMP_HDR_LEN,
            .data_len = pkb->len - ICMP_HDR_LEN,
        };
        stack->ping_fn(stack->ping_ctx, &ev);
    }
    pkb_free(pkb);
}

/* Map an ICMP error to the errno a socket sees (as Linux's icmp_err_convert does). */
static int error_to_errno(uint8_t type, uint8_t code)
{
    if (type == ICMP_TIME_EXCEEDED)
        return EHOSTUNREACH;
    if (type == ICMP_PARAM_PROBLEM)
        return EPROTO;
    switch (code) {
    case ICMP_UNREACH_NET:
        return ENETUNREACH;
    case ICMP_UNREACH_PROTOCOL:
        return ENOPROTOOPT;
    case ICMP_UNREACH_PORT:
        return ECONNREFUSED;
    case ICMP_UNREACH_NEEDFRAG:
        return EMSGSIZE;
    default:
        return EHOSTUNREACH;
    }
}

/* An error about a datagram we sent: the body is its IP header + at least 8 bytes. */
static void deliver_error(struct stack *stack, struct pkb *pkb, const struct icmp_hdr *h)
{
    char a[16];
    const char *what = "time exceeded";
    if (h->type == ICMP_DEST_UNREACH) {
        stack->stats.icmp.dest_unreach_rx++;
        what = "destination unreachable";
    } else if (h->type == ICMP_PARAM_PROBLEM) {
        stack->stats.icmp.param_problem_rx++;
        what = "parameter problem";
    } else {
        stack->stats.icmp.time_exceeded_rx++;
    }
    trace(stack, TRACE_ICMP, "%s (code %u) from %s", what, h->code, ip_str(pkb->meta.ip_src, a));

    const uint8_t *orig = pkb->data + ICMP_HDR_LEN;
    size_t orig_len = pkb->len - ICMP_HDR_LEN;
    /* Our own echo requests are ICMP too: tell the ping application. */
    if (orig_len >= IP_HDR_LEN + 8 && orig[9] == IP_PROTO_ICMP && stack->ping_fn &&
        h->type != ICMP_PARAM_PROBLEM) {
        size_t hlen = (size_t)(orig[0] & 0x0f) * 4;
        if (hlen >= IP_HDR_LEN && orig_len >= hlen + 8 && orig[hlen] == ICMP_ECHO_REQUEST) {
            struct ping_event ev = {
                .kind = h->type == ICMP_DEST_UNREACH ? PING_UNREACHABLE : PING_TIME_EXCEEDED,
                .from = pkb->meta.ip_src,
                .id = get_be16(orig + hlen + 4),
                .seq = get_be16(orig + hlen + 6),
                .code = h->code,
            };
            stack->ping_fn(stack->ping_ctx, &ev);
        }
    }
    ip_deliver_error(stack, error_to_errno(h->type, h->code), h->type, h->code, pkb->meta.ip_src,
                     orig, orig_len);
    pkb_free(pkb);
}

/* RFC 1122 3.2.2.2: a gateway tells us a better first hop for one destination. A host
 * MUST update its route cache, treating a network redirect as a host redirect (3.3.1.2),
 * and SHOULD ignore one that does not come from the gateway it used (ip_redirect checks). */
static void handle_redirect(struct stack *stack, struct pkb *pkb, const struct icmp_hdr *h)
{
    char a[16], b[16];
    const uint8_t *orig = pkb->data + ICMP_HDR_LEN;
    size_t orig_len = pkb->len - ICMP_HDR_LEN;
    uint32_t gateway = h->rest;
    if (orig_len < IP_HDR_LEN || h->code > 3 ||
        ip_redirect(stack, get_be32(orig + 16), gateway, pkb->meta.ip_src) < 0) {
        stack->stats.icmp.redirects_bad++;
        trace(stack, TRACE_ICMP, "drop: redirect from %s to %s is not believable",
              ip_str(pkb->meta.ip_src, a), ip_str(gateway, b));
    } else {
        stack->stats.icmp.redirects_rx++;
        trace(stack, TRACE_ICMP, "redirect: %s now via %s", ip_str(get_be32(orig + 16), a),
              ip_str(gateway, b));
    }
    pkb_free(pkb);
}

void icmp_input(struct stack *stack, struct pkb *pkb)
{
    /* LAB icmp: begin */
    struct icmp_stats *st = &stack->stats.icmp;
    struct icmp_hdr h;

    st->rx_messages++;
    if (icmp_parse(pkb->data, pkb->len, &h) < 0)
        return drop(stack, pkb, &st->rx_truncated, "shorter than an ICMP header");
    if (inet_checksum(pkb->data, pkb->len) != 0)
        return drop(stack, pkb, &st->rx_bad_checksum, "bad checksum");

    switch (h.type) {
    case ICMP_ECHO_REQUEST:
        return answer_echo(stack, pkb, &h);
    case ICMP_ECHO_REPLY:
        return deliver_echo_reply(stack, pkb, &h);
    case ICMP_DEST_UNREACH:
    case ICMP_TIME_EXCEEDED:
    case ICMP_PARAM_PROBLEM: /* RFC 1122 3.2.2.5: MUST be passed to the transport */
        return deliver_error(stack, pkb, &h);
    case ICMP_REDIRECT:
        return handle_redirect(stack, pkb, &h);
    default:
        return drop(stack, pkb, &st->rx_unknown_type, "type not handled");
    }
    /* LAB icmp: end */
}

/* RFC 1122 3.2.2: an ICMP error message MUST NOT be sent in answer to an ICMP error, a
 * datagram to a broadcast or multicast address or sent as a link-layer broadcast, a
 * non-initial fragment, or a datagram whose source is not a single host. */
static bool error_allowed(struct stack *stack, const struct pkb *pkb)
{
    /* LAB icmp: begin */
    const uint8_t *ip = pkb->meta.ip_hdr;
    size_t hlen = pkb->meta.ip_hdr_len;
    if (!ip || pkb->meta.ip_broadcast || pkb->meta.link_broadcast)
        return false;
    if (get_be16(ip + 6) & IP_OFFSET_MASK)
        return false;
    uint32_t src = pkb->meta.ip_src;
    if (src == 0 || ip_is_broadcast(stack, src) || (src >> 28) == 0xe)
        return false;
    if (pkb->meta.ip_proto == IP_PROTO_ICMP) {
        const uint8_t *icmp = ip + hlen;
        /* only informational messages (echo) may be answered with an error */
        if (pkb->data != icmp || pkb->len < 1)
            return false;
        uint8_t type = icmp[0];
        if (type != ICMP_ECHO_REQUEST && type != ICMP_ECHO_REPLY)
            return false;
    }
    return true;
    /* LAB icmp: end */
}

static const char *error_name(uint8_t type)
{
    switch (type) {
    case ICMP_DEST_UNREACH:
        return "destination unreachable";
    case ICMP_PARAM_PROBLEM:
        return "parameter problem";
    default:
        return "time exceeded";
    }
}

/* An error message about a received datagram: `rest` is the second word of the ICMP header
 * (the pointer of a Parameter Problem, else 0). */
static void send_error(struct stack *stack, const struct pkb *pkb, uint8_t type, uint8_t code,
                       uint32_t rest)
{
    char a[16];
    if (!error_allowed(stack, pkb)) {
        stack->stats.icmp.errors_suppressed++;
        return;
    }
    /* RFC 792: the internet header plus the first 64 bits of the original data. */
    const uint8_t *ip = pkb->meta.ip_hdr;
    size_t payload_after_hdr = (size_t)(pkb->data + pkb->len - (ip + pkb->meta.ip_hdr_len));
    size_t n = pkb->meta.ip_hdr_len + (payload_after_hdr < 8 ? payload_after_hdr : 8);
    struct pkb *msg = pkb_alloc(n);
    if (!msg)
        return;
    memcpy(pkb_put(msg, n), ip, n);
    if (type == ICMP_DEST_UNREACH)
        stack->stats.icmp.dest_unreach_tx++;
    else if (type == ICMP_PARAM_PROBLEM)
        stack->stats.icmp.param_problem_tx++;
    else
        stack->stats.icmp.time_exceeded_tx++;
    trace(stack, TRACE_ICMP, "%s (code %u) to %s", error_name(type), code,
          ip_str(pkb->meta.ip_src, a));
    send_message(stack, msg, pkb->meta.ip_src, type, code, rest, NULL, 0);
}

void icmp_send_error(struct stack *stack, const struct pkb *pkb, uint8_t type, uint8_t code)
{
    send_error(stack, pkb, type, code, 0);
}

/* RFC 792 "Parameter Problem Message": the pointer names the octet of the original
 * header where the problem was found; it sits in the first byte after the checksum. */
void icmp_send_param_problem(struct stack *stack, const struct pkb *pkb, uint8_t pointer)
{
    send_error(stack, pkb, ICMP_PARAM_PROBLEM, 0, (uint32_t)pointer << 24);
}

int stack_ping(struct stack *stack, uint32_t dst, uint16_t id, uint16_t seq, const void *data,
               size_t len)
{
    char a[16];
    struct pkb *pkb = pkb_alloc(len);
    if (!pkb)
        return -ENOMEM;
    if (len)
        memcpy(pkb_put(pkb, len), data, len);
    stack->stats.icmp.echo_requests_tx++;
    trace(stack, TRACE_ICMP, "echo request to %s id=%u seq=%u len=%zu", ip_str(dst, a), id, seq,
          len + ICMP_HDR_LEN);
    return send_message(stack, pkb, dst, ICMP_ECHO_REQUEST, 0, (uint32_t)id << 16 | seq, NULL, 0);
}

void stack_on_ping(struct stack *stack, void (*fn)(void *ctx, const struct ping_event *ev),
                   void *ctx)
{
    stack->ping_fn = fn;
    stack->ping_ctx = ctx;
}
