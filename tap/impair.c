/* impair.c - the bad cable's model, and the link driver that puts it under tapir. See impair.h. */
#include "impair.h"
#include "../stack/bytes.h"
#include "../stack/rand.h"
#include "../stack/stack.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct impair_frame {
    uint64_t due_us;
    size_t len;
    struct impair_frame *next;
    uint8_t bytes[];
};

/* ---- the model ---- */

uint64_t impair_seed(uint32_t seed)
{
    return ((uint64_t)seed << 32 | 0x2545f491u) ^ 0x9e3779b97f4a7c15ull;
}

static bool chance(struct impair_path *p, unsigned pct)
{
    return pct && xorshift64s(p->rng) % 100 < pct;
}

static void report(struct impair_path *p, struct impair_event *ev)
{
    ev->path = p->id;
    if (p->observer)
        p->observer(p->observer_ctx, ev);
}

/* Queue a copy of the frame, due at due_us; equal times keep their sending order. */
static void enqueue(struct impair_path *p, const uint8_t *bytes, size_t len, uint64_t due_us)
{
    struct impair_frame *f = NULL;
    if (p->count < IMPAIR_MAX_IN_FLIGHT)
        f = malloc(sizeof(*f) + len);
    if (!f) {
        p->stats->overflowed++;
        struct impair_event ev = {.what = IMPAIR_OVERFLOWED, .frame = bytes, .len = len};
        report(p, &ev);
        return;
    }
    f->due_us = due_us;
    f->len = len;
    memcpy(f->bytes, bytes, len);
    struct impair_frame **pp = &p->queue;
    while (*pp && (*pp)->due_us <= due_us)
        pp = &(*pp)->next;
    f->next = *pp;
    *pp = f;
    p->count++;
}

void impair_send(struct impair_path *p, const uint8_t *frame, size_t len, uint64_t now_us)
{
    const struct impair_spec *s = p->spec;
    p->stats->sent++;
    if (chance(p, s->loss_pct)) {
        p->stats->lost++; /* the sender never knows: that is what a lossy cable is like */
        struct impair_event ev = {.what = IMPAIR_LOST, .frame = frame, .len = len};
        report(p, &ev);
        return;
    }
    uint64_t due = now_us + s->delay_us;
    if (chance(p, s->reorder_pct)) {
        p->stats->reordered++;
        due += s->reorder_us;
        struct impair_event ev = {
            .what = IMPAIR_REORDERED, .frame = frame, .len = len, .held_us = s->reorder_us};
        report(p, &ev);
    }
    if (chance(p, s->corrupt_pct) && len > 0) {
        uint8_t copy[len];
        memcpy(copy, frame, len);
        size_t at = xorshift64s(p->rng) % len;
        copy[at] ^= (uint8_t)(1 + xorshift64s(p->rng) % 255);
        p->stats->corrupted++;
        struct impair_event ev = {.what = IMPAIR_CORRUPTED,
                                  .frame = frame,
                                  .len = len,
                                  .byte = at,
                                  .was = frame[at],
                                  .now = copy[at]};
        report(p, &ev);
        enqueue(p, copy, len, due);
    } else {
        enqueue(p, frame, len, due);
    }
    if (chance(p, s->dup_pct)) {
        p->stats->duplicated++;
        struct impair_event ev = {.what = IMPAIR_DUPLICATED, .frame = frame, .len = len};
        report(p, &ev);
        enqueue(p, frame, len, due + 1);
    }
}

size_t impair_take(struct impair_path *p, uint8_t *buf, size_t cap, uint64_t now_us)
{
    struct impair_frame *f = p->queue;
    if (!f || f->due_us > now_us)
        return 0;
    p->queue = f->next;
    p->count--;
    size_t n = f->len < cap ? f->len : cap;
    memcpy(buf, f->bytes, n);
    free(f);
    p->stats->delivered++;
    return n;
}

uint64_t impair_next_due(const struct impair_path *p)
{
    return p->queue ? p->queue->due_us : UINT64_MAX;
}

void impair_clear(struct impair_path *p)
{
    struct impair_frame *f = p->queue;
    while (f) {
        struct impair_frame *next = f->next;
        free(f);
        f = next;
    }
    p->queue = NULL;
    p->count = 0;
}

/* ---- the --impair SPEC ---- */

static int parse_fail(char *why, size_t size, const char *fmt, const char *arg)
{
    snprintf(why, size, fmt, arg);
    return -1;
}

/* "5%" or "5": a whole percentage 0..100 */
static bool parse_pct(const char *v, unsigned *pct)
{
    char *end;
    if (*v < '0' || *v > '9')
        return false;
    unsigned long n = strtoul(v, &end, 10);
    if (*end == '%')
        end++;
    if (*end || n > 100)
        return false;
    *pct = (unsigned)n;
    return true;
}

/* "5ms", "500us", "1s" (a bare number is milliseconds), at most 10 s */
static bool parse_delay(const char *v, uint32_t *us)
{
    char *end;
    if (*v < '0' || *v > '9')
        return false;
    unsigned long n = strtoul(v, &end, 10), unit = 1000;
    if (!strcmp(end, "us"))
        unit = 1;
    else if (!strcmp(end, "s"))
        unit = 1000000;
    else if (*end && strcmp(end, "ms"))
        return false;
    if (n > 10000000ul / unit)
        return false;
    *us = (uint32_t)(n * unit);
    return true;
}

static bool parse_seed(const char *v, uint32_t *seed)
{
    char *end;
    if (*v < '0' || *v > '9')
        return false;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end || errno || n > UINT32_MAX)
        return false;
    *seed = (uint32_t)n;
    return true;
}

/* key=value for the directions in [from, to] */
static int parse_item(char *item, struct impair_config *cfg, int from, int to, char *why,
                      size_t size)
{
    char *eq = strchr(item, '=');
    if (!eq)
        return parse_fail(why, size, "'%s' is not KEY=VALUE", item);
    *eq = 0;
    const char *key = item, *v = eq + 1;
    if (!strcmp(key, "seed")) {
        if (from != IMPAIR_IN || to != IMPAIR_OUT)
            return parse_fail(why, size, "%s", "seed= takes no in:/out: prefix");
        if (!parse_seed(v, &cfg->seed))
            return parse_fail(why, size, "bad seed '%s' (want 0..4294967295)", v);
        return 0;
    }
    for (int d = from; d <= to; d++) {
        struct impair_spec *s = &cfg->dir[d];
        bool ok;
        if (!strcmp(key, "loss"))
            ok = parse_pct(v, &s->loss_pct);
        else if (!strcmp(key, "dup"))
            ok = parse_pct(v, &s->dup_pct);
        else if (!strcmp(key, "reorder"))
            ok = parse_pct(v, &s->reorder_pct);
        else if (!strcmp(key, "corrupt"))
            ok = parse_pct(v, &s->corrupt_pct);
        else if (!strcmp(key, "delay"))
            ok = parse_delay(v, &s->delay_us);
        else
            return parse_fail(why, size,
                              "unknown key '%s' (loss, dup, reorder, corrupt, delay, seed)", key);
        if (!ok)
            return parse_fail(why, size,
                              !strcmp(key, "delay") ? "bad delay '%s' (want e.g. 5ms, 500us, 1s; "
                                                      "at most 10 s)"
                                                    : "bad percentage '%s' (want 0%%..100%%)",
                              v);
    }
    return 0;
}

int impair_parse(const char *spec, struct impair_config *cfg, char *why, size_t why_size)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->seed = 1;
    for (int d = 0; d < 2; d++)
        cfg->dir[d].reorder_us = 2000; /* as the simulated wire */
    char buf[256];
    if (strlen(spec) >= sizeof(buf))
        return parse_fail(why, why_size, "%s", "longer than 255 characters");
    if (!*spec)
        return parse_fail(why, why_size, "%s", "empty (want e.g. loss=5%,delay=5ms)");
    strcpy(buf, spec);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        int from = IMPAIR_IN, to = IMPAIR_OUT;
        if (!strncmp(item, "in:", 3)) {
            item += 3;
            to = IMPAIR_IN;
        } else if (!strncmp(item, "out:", 4)) {
            item += 4;
            from = IMPAIR_OUT;
        }
        if (parse_item(item, cfg, from, to, why, why_size) < 0)
            return -1;
    }
    return 0;
}

static size_t describe_dir(const struct impair_spec *s, char *buf, size_t size)
{
    int n = 0;
    buf[0] = 0;
#define ADD(cond, ...)                                                                             \
    if ((cond) && (size_t)n < size)                                                                \
    n += snprintf(buf + n, size - (size_t)n, __VA_ARGS__)
    ADD(s->loss_pct, " loss=%u%%", s->loss_pct);
    ADD(s->delay_us, " delay=%" PRIu32 ".%03" PRIu32 "ms", s->delay_us / 1000, s->delay_us % 1000);
    ADD(s->reorder_pct, " reorder=%u%%", s->reorder_pct);
    ADD(s->dup_pct, " dup=%u%%", s->dup_pct);
    ADD(s->corrupt_pct, " corrupt=%u%%", s->corrupt_pct);
    ADD(!n, " none");
#undef ADD
    return (size_t)n;
}

void impair_describe(const struct impair_config *cfg, char *buf, size_t size)
{
    char in[128], out[128];
    describe_dir(&cfg->dir[IMPAIR_IN], in, sizeof(in));
    describe_dir(&cfg->dir[IMPAIR_OUT], out, sizeof(out));
    snprintf(buf, size, "in:%s; out:%s; seed=%" PRIu32, in, out, cfg->seed);
}

/* ---- trace lines ---- */

/* What the frame is, in the terms of the layer lines a student compares it with:
 * "tcp 10.0.0.1:40112 > 10.0.0.2:7 ACK data=1460 ip.id=4711". */
static void frame_summary(const uint8_t *f, size_t n, char *buf, size_t size)
{
    if (n < 14) {
        snprintf(buf, size, "runt");
        return;
    }
    uint16_t type = get_be16(f + 12);
    if (type == 0x0806) {
        snprintf(buf, size, "arp");
        return;
    }
    if (type != 0x0800 || n < 14 + 20) {
        snprintf(buf, size, "type=0x%04x", type);
        return;
    }
    const uint8_t *ip = f + 14;
    size_t ihl = (size_t)(ip[0] & 15) * 4, total = get_be16(ip + 2);
    uint32_t src = get_be32(ip + 12), dst = get_be32(ip + 16);
    uint8_t proto = ip[9];
    bool first = (get_be16(ip + 6) & 0x1fff) == 0;
    char a[16], b[16];
    ip_str(src, a);
    ip_str(dst, b);
    const uint8_t *l4 = ip + ihl;
    size_t l4_len = total > ihl && total <= n - 14 ? total - ihl : 0;
    if (first && proto == 6 && ihl >= 20 && l4_len >= 20) {
        static const char names[][4] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG"};
        char flags[32] = "";
        for (int i = 0; i < 6; i++)
            if (l4[13] & (1 << i)) {
                if (flags[0])
                    strcat(flags, "|");
                strcat(flags, names[i]);
            }
        size_t doff = (size_t)(l4[12] >> 4) * 4;
        snprintf(buf, size, "tcp %s:%u > %s:%u %s data=%zu ip.id=%u", a, get_be16(l4), b,
                 get_be16(l4 + 2), flags[0] ? flags : "none", l4_len > doff ? l4_len - doff : 0,
                 get_be16(ip + 4));
    } else if (first && proto == 17 && ihl >= 20 && l4_len >= 8) {
        snprintf(buf, size, "udp %s:%u > %s:%u ip.id=%u", a, get_be16(l4), b, get_be16(l4 + 2),
                 get_be16(ip + 4));
    } else if (first && proto == 1 && ihl >= 20 && l4_len >= 1) {
        snprintf(buf, size, "icmp type=%u %s > %s ip.id=%u", l4[0], a, b, get_be16(ip + 4));
    } else {
        snprintf(buf, size, "ip proto=%u %s > %s ip.id=%u", proto, a, b, get_be16(ip + 4));
    }
}

void impair_trace(struct stack *stack, const char *dir, const struct impair_event *ev)
{
    if (!stack_trace_enabled(stack, TRACE_LINK))
        return;
    char what[96], summary[128];
    switch (ev->what) {
    case IMPAIR_LOST:
        snprintf(what, sizeof(what), "lost");
        break;
    case IMPAIR_DUPLICATED:
        snprintf(what, sizeof(what), "duplicated");
        break;
    case IMPAIR_REORDERED:
        snprintf(what, sizeof(what), "reordered (held %" PRIu32 ".%03" PRIu32 " ms longer)",
                 ev->held_us / 1000, ev->held_us % 1000);
        break;
    case IMPAIR_CORRUPTED:
        snprintf(what, sizeof(what), "corrupted (byte %zu: 0x%02x -> 0x%02x)", ev->byte, ev->was,
                 ev->now);
        break;
    case IMPAIR_OVERFLOWED:
    default:
        snprintf(what, sizeof(what), "dropped (%u frames in flight already)", IMPAIR_MAX_IN_FLIGHT);
        break;
    }
    frame_summary(ev->frame, ev->len, summary, sizeof(summary));
    trace_emit(stack, TRACE_LINK, "%s %s len=%zu: %s", dir, what, ev->len, summary);
}

/* ---- the impaired link driver ---- */

#define LINK_READS_PER_CALL 64 /* frames taken from the inner driver per recv call */

struct impair_link {
    const struct netif_ops *inner;
    void *inner_driver;
    struct impair_config cfg;
    uint64_t rng[2];
    struct impair_stats stats[2];
    struct impair_path path[2];
    struct stack *trace_stack;
    uint8_t *scratch; /* one frame from the inner driver */
};

static void link_observer(void *ctx, const struct impair_event *ev)
{
    struct impair_link *l = ctx;
    if (l->trace_stack)
        impair_trace(l->trace_stack, ev->path == IMPAIR_IN ? "in" : "out", ev);
}

struct impair_link *impair_link_create(const struct impair_config *cfg,
                                       const struct netif_ops *inner, void *inner_driver)
{
    struct impair_link *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->scratch = malloc(65536);
    if (!l->scratch) {
        free(l);
        return NULL;
    }
    l->inner = inner;
    l->inner_driver = inner_driver;
    l->cfg = *cfg;
    for (int d = 0; d < 2; d++) {
        /* each direction draws from its own generator: its fates depend only on its own
         * frames, however the other direction's traffic interleaves with them */
        l->rng[d] = impair_seed(cfg->seed * 2 + (uint32_t)d);
        l->path[d] = (struct impair_path){.spec = &l->cfg.dir[d],
                                          .rng = &l->rng[d],
                                          .stats = &l->stats[d],
                                          .id = d,
                                          .observer = link_observer,
                                          .observer_ctx = l};
    }
    return l;
}

void impair_link_destroy(struct impair_link *l)
{
    if (!l)
        return;
    impair_clear(&l->path[IMPAIR_IN]);
    impair_clear(&l->path[IMPAIR_OUT]);
    free(l->scratch);
    free(l);
}

void impair_link_trace_to(struct impair_link *l, struct stack *stack)
{
    l->trace_stack = stack;
}

const struct impair_stats *impair_link_stats(const struct impair_link *l, int dir)
{
    return &l->stats[dir & 1];
}

/* Hand the inner driver every outbound frame that is due. */
static void release_out(struct impair_link *l, uint64_t now_us)
{
    size_t n;
    while ((n = impair_take(&l->path[IMPAIR_OUT], l->scratch, 65536, now_us)) > 0)
        l->inner->send(l->inner_driver, l->scratch, n, now_us);
}

static int link_send(void *driver, const uint8_t *frame, size_t len, uint64_t now_us)
{
    struct impair_link *l = driver;
    impair_send(&l->path[IMPAIR_OUT], frame, len, now_us);
    release_out(l, now_us);
    return 0; /* like a cable: the sender never learns the fate of a frame */
}

static ssize_t link_recv(void *driver, uint8_t *buf, size_t cap, uint64_t now_us)
{
    struct impair_link *l = driver;
    release_out(l, now_us);
    for (int i = 0; i < LINK_READS_PER_CALL; i++) {
        ssize_t n = l->inner->recv(l->inner_driver, l->scratch, 65536, now_us);
        if (n < 0)
            return n;
        if (n == 0)
            break;
        impair_send(&l->path[IMPAIR_IN], l->scratch, (size_t)n, now_us);
    }
    return (ssize_t)impair_take(&l->path[IMPAIR_IN], buf, cap, now_us);
}

static int link_fd(void *driver)
{
    struct impair_link *l = driver;
    return l->inner->fd(l->inner_driver);
}

static uint64_t link_next_due(void *driver)
{
    struct impair_link *l = driver;
    uint64_t in = impair_next_due(&l->path[IMPAIR_IN]), out = impair_next_due(&l->path[IMPAIR_OUT]);
    return in < out ? in : out;
}

/* No offloads: the model works on the frames a cable would carry, one segment each. */
const struct netif_ops impair_link_ops = {
    .kind = "impaired",
    .send = link_send,
    .recv = link_recv,
    .fd = link_fd,
    .next_due = link_next_due,
};

void impair_link_print_stats(const struct impair_link *l, FILE *out)
{
    static const char *const names[2] = {"in (the peer -> tapir)", "out (tapir -> the peer)"};
    for (int d = 0; d < 2; d++) {
        const struct impair_stats *s = &l->stats[d];
        char spec[128];
        describe_dir(&l->cfg.dir[d], spec, sizeof(spec));
        fprintf(out, "Impairment %s, seed %" PRIu32 ":%s\n", names[d], l->cfg.seed, spec);
        fprintf(out, "    %" PRIu64 " frames offered to the link\n", s->sent);
        fprintf(out, "    %" PRIu64 " frames delivered\n", s->delivered);
        fprintf(out, "    %" PRIu64 " frames lost\n", s->lost);
        fprintf(out, "    %" PRIu64 " frames duplicated\n", s->duplicated);
        fprintf(out, "    %" PRIu64 " frames reordered\n", s->reordered);
        fprintf(out, "    %" PRIu64 " frames corrupted\n", s->corrupted);
        fprintf(out, "    %" PRIu64 " frames dropped: too many in flight\n", s->overflowed);
        fprintf(out, "    %u frames in flight\n", l->path[d].count);
    }
}
