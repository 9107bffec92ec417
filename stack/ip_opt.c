/* ip_opt.c - IPv4 options (RFC 791 "Options", RFC 1122 3.2.1.8): part of the network layer.
 *
 * Up to 40 bytes of options follow the 20 fixed bytes of a header. An option is one byte
 * (End of Option List 0, No Operation 1) or a type, a length that counts the whole option,
 * and data. Record Route and Timestamp carry a pointer: the offset (from 1) of the next
 * free slot inside the option; the option is full when the pointer is past its end.
 *
 *   +--------+--------+--------+-----------------//------+
 *   |  type  | length | pointer| slots: addresses, times  |
 *   +--------+--------+--------+-----------------//------+
 *   type = copied (1 bit: repeat it in every fragment) | class (2) | number (5)
 *
 * tapir never forwards, so it only checks the options it receives (ip_input passes them up
 * to the transport in pkb->meta), sends those an application asks for, and answers a ping
 * with its Record Route and Timestamp updated (RFC 1122 3.2.2.6). Source routing is left out
 * on purpose (RFC 7126): a received source route is ignored, and none is ever sent.
 */
#include "bytes.h"
#include "ip.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* The length of the option at opts[i], or 0 when it runs past the list of len bytes. */
static size_t option_len(const uint8_t *opts, size_t i, size_t len)
{
    if (opts[i] == IPOPT_EOL || opts[i] == IPOPT_NOP)
        return 1;
    if (i + 1 >= len || opts[i + 1] < 2 || opts[i + 1] > len - i)
        return 0;
    return opts[i + 1];
}

static bool has_pointer(uint8_t type)
{
    return type == IPOPT_RR || type == IPOPT_TS || type == IPOPT_LSRR || type == IPOPT_SSRR;
}

/* Timestamp flags (RFC 791): 0 times only, 1 address and time, 3 prespecified addresses. */
static size_t timestamp_slot(const uint8_t *o)
{
    return (o[3] & 0x0f) == 0 ? 4 : 8;
}

/* A route or timestamp option o of olen bytes: 0 if its pointer makes sense, else the
 * offset in o of the wrong byte (as Linux's ip_options_compile judges them). */
static size_t bad_pointer(const uint8_t *o, size_t olen)
{
    bool ts = o[0] == IPOPT_TS;
    if (olen < (ts ? 4u : 3u))
        return 1; /* the length: no room for the pointer (and flags) */
    if (o[2] < (ts ? 5 : 4))
        return 2; /* the pointer points into the option's own header */
    size_t slot = 4;
    if (ts) {
        uint8_t flag = o[3] & 0x0f;
        if (flag != 0 && flag != 1 && flag != 3)
            return 3;
        slot = timestamp_slot(o);
    }
    if (o[2] <= olen && o[2] + slot - 1 > olen)
        return 2; /* the next slot is cut short by the end of the option */
    return 0;
}

int ip_options_check(const uint8_t *opts, size_t len, size_t *bad)
{
    size_t i = 0;
    while (i < len && opts[i] != IPOPT_EOL) {
        size_t n = option_len(opts, i, len);
        if (n == 0) {
            *bad = i + 1 < len ? i + 1 : i; /* its length byte, or the type if there is none */
            return -EINVAL;
        }
        size_t at = has_pointer(opts[i]) ? bad_pointer(opts + i, n) : 0;
        if (at) {
            *bad = i + at;
            return -EINVAL;
        }
        i += n;
    }
    return 0;
}

/* Fill out[n..] with End of Option List up to a multiple of 4; the padded length. */
static size_t pad(uint8_t *out, size_t n)
{
    size_t padded = (n + 3) & ~(size_t)3;
    memset(out + n, IPOPT_EOL, padded - n);
    return padded;
}

int ip_options_prepare(const uint8_t *opts, size_t len, uint8_t out[IP_OPTS_MAX])
{
    size_t bad;
    if (len > IP_OPTS_MAX || ip_options_check(opts, len, &bad) < 0)
        return -EINVAL;
    for (size_t i = 0; i < len && opts[i] != IPOPT_EOL; i += option_len(opts, i, len)) {
        uint8_t type = opts[i];
        /* RFC 1122 3.2.1.8c: at most one source route per header; tapir sends none at all.
         * 3.2.1.8b: a host SHOULD NOT send the obsolete Stream Identifier. */
        if (type == IPOPT_LSRR || type == IPOPT_SSRR || type == IPOPT_SID)
            return -EINVAL;
    }
    if (len)
        memcpy(out, opts, len);
    return (int)pad(out, len);
}

size_t ip_options_copied(const uint8_t *opts, size_t len, uint8_t out[IP_OPTS_MAX])
{
    size_t n = 0;
    for (size_t i = 0; i < len && opts[i] != IPOPT_EOL;) {
        size_t olen = option_len(opts, i, len);
        if (olen == 0)
            break;
        if (opts[i] & IPOPT_COPIED) {
            memcpy(out + n, opts + i, olen);
            n += olen;
        }
        i += olen;
    }
    return pad(out, n);
}

/* RFC 791 "Record Route": our address into the next free slot, if one is left. */
static void record_route(uint8_t *o, size_t olen, uint32_t self)
{
    size_t ptr = o[2];
    if (ptr + 3 > olen)
        return; /* full: the route stays as it is */
    put_be32(o + ptr - 1, self);
    o[2] = (uint8_t)(ptr + 4);
}

/* RFC 791 "Internet Timestamp": our time (with our address for flags 1 and 3; for flag 3
 * only when the next prespecified address is ours). Full: count it in the overflow nibble. */
static void timestamp(uint8_t *o, size_t olen, uint32_t self, uint32_t now_ms)
{
    size_t ptr = o[2], slot = timestamp_slot(o);
    uint8_t flag = o[3] & 0x0f;
    if (ptr + slot - 1 > olen) {
        if ((o[3] >> 4) < 15)
            o[3] = (uint8_t)(o[3] + 0x10);
        return;
    }
    uint8_t *p = o + ptr - 1;
    if (flag == 3 && get_be32(p) != self)
        return; /* another host's turn */
    if (flag != 0) {
        put_be32(p, self);
        p += 4;
    }
    put_be32(p, now_ms);
    o[2] = (uint8_t)(ptr + slot);
}

size_t ip_options_reflect(const uint8_t *opts, size_t len, uint32_t self, uint32_t now_ms,
                          uint8_t out[IP_OPTS_MAX])
{
    size_t n = 0;
    for (size_t i = 0; i < len && opts[i] != IPOPT_EOL;) {
        size_t olen = option_len(opts, i, len);
        if (olen == 0)
            break;
        if (opts[i] == IPOPT_RR || opts[i] == IPOPT_TS) {
            uint8_t *o = out + n;
            memcpy(o, opts + i, olen); /* whole: "without truncation" */
            if (o[0] == IPOPT_RR)
                record_route(o, olen, self);
            else
                timestamp(o, olen, self, now_ms);
            n += olen;
        }
        i += olen;
    }
    return pad(out, n);
}
