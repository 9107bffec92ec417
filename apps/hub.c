/* hub.c - the event hub: a central server that takes every event a client emits, scrubs
 * it, and broadcasts it to the other members of the room (docs/chapters/08-hub.md).
 *
 * The ideas of the course notes, and where they live here:
 *   event queue      each durable client's queue (struct hub_sub.queue), kept until ACKed
 *   emit / listen    EMIT -> do_emit(); JOIN a room = listen to what is emitted there
 *   hub broadcast    fan_out(): one event, every other member of the room
 *   rooms            struct hub_room and its members
 *   reserved events  hub_event_reserved() in hub_proto.c
 *   missed events    replay on HELLO: pump() from the first unacknowledged event
 *
 * The file has two halves. The core (struct hub, struct hub_conn) sees bytes in and bytes
 * out and no sockets: tests/unit/test_hub_proto.c drives it directly. The server (struct
 * hub_server, at the end) joins it to TCP sockets of a tapir stack.
 *
 * Bounded everywhere: connections, rooms, rooms per client, durable ids, events per
 * queue, bytes of kept events, bytes of output per connection, one line of input per
 * connection. Past a bound the hub answers ERR or drops the oldest, and counts it.
 */
#include "hub.h"
#include "apps.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define hub_trace(hub, ...)                                                                        \
    do {                                                                                           \
        if ((hub)->stack)                                                                          \
            trace((hub)->stack, TRACE_APP, "hub: " __VA_ARGS__);                                   \
    } while (0)

/* One emitted event, formatted once. Kept in the store while a durable queue holds it. */
/* Sockets the hub leaves to others (echo, discard, refusals): see hub_create. */
#define HUB_SPARE_SOCKETS 32

struct hub_event {
    uint64_t seq;
    unsigned refs;                   /* durable queues holding it */
    struct hub_event *older, *newer; /* the store, in seq order */
    size_t len;
    char line[]; /* "EVENT <seq> <room> <event> <sender> <payload>\n" */
};

struct hub_room {
    char name[HUB_NAME_MAX + 1];
    struct hub_sub **members;
    unsigned nmembers, cap;
    struct hub_room *prev, *next;
};

/* A subscriber: a client as the hub knows it. An anonymous one lives and dies with its
 * connection; a durable one (HELLO) outlives it, keeping its rooms and its queue. */
struct hub_sub {
    char id[HUB_NAME_MAX + 1];
    bool durable;
    struct hub_conn *conn; /* NULL: offline (durable only) */
    struct hub_room **rooms;
    unsigned nrooms;
    /* durable only: a ring of queue_len events, oldest at qhead. The first qsent of them
     * went out on the current connection; all of them wait for an ACK. */
    struct hub_event **queue;
    unsigned qhead, qlen, qsent;
    uint64_t last_seen; /* hub->tick when last connected: the oldest is forgotten first */
    struct hub_sub *prev, *next;
};

struct hub_conn {
    struct hub *hub;
    void *io;
    struct hub_sub *sub; /* NULL once another connection took its client-id over */
    struct hub_line_reader reader;
    char *out; /* cfg.out_bytes: replies and events not yet taken by the transport */
    size_t out_off, out_len;
    bool closing;              /* QUIT or taken over: close when the output is out */
    bool kicked;               /* cut off (stalled): close now */
    bool paused;               /* an emitter not read while a subscriber of its room is behind */
    uint64_t last_progress_us; /* when it went over the high-water mark, or since then
                                  last took output from us: its stall clock */
    bool dirty;                /* on the hub's dirty list */
    struct hub_conn *dirty_next;
    struct hub_conn *prev, *next;
};

struct hub {
    struct hub_config cfg;
    struct stack *stack;
    struct hub_stats stats;
    uint64_t last_seq, anon_count, tick;
    struct hub_conn *conns;
    struct hub_sub *durables;
    struct hub_room *rooms;
    struct hub_event *oldest, *newest; /* the store */
    size_t store_used;
    struct hub_conn *dirty_head, *dirty_tail;
    unsigned npaused;
    char scrubbed[HUB_LINE_MAX];
    char line[HUB_OUT_LINE_MAX];
};

void hub_config_init(struct hub_config *cfg)
{
    cfg->max_clients = 1024;
    cfg->max_rooms = 1024;
    cfg->max_rooms_per_client = 64;
    cfg->max_durable = 1024;
    cfg->queue_len = 1000;
    cfg->store_bytes = 32u << 20;
    cfg->out_bytes = 8192;
    cfg->sndbuf = 0;
    cfg->stall_ms = 5000;
}

/* ---- output: every byte to a client goes through its bounded buffer ---- */

static size_t out_space(const struct hub_conn *c)
{
    return c->hub->cfg.out_bytes - c->out_len;
}

static void mark_dirty(struct hub_conn *c)
{
    if (c->dirty)
        return;
    c->dirty = true;
    c->dirty_next = NULL;
    if (c->hub->dirty_tail)
        c->hub->dirty_tail->dirty_next = c;
    else
        c->hub->dirty_head = c;
    c->hub->dirty_tail = c;
}

static uint64_t hub_now(const struct hub *hub);
static bool over_high_water(const struct hub_conn *c);

static void out_put(struct hub_conn *c, const char *data, size_t n)
{
    if (!over_high_water(c) && c->out_len + n > c->hub->cfg.out_bytes / 2)
        c->last_progress_us = hub_now(c->hub); /* behind from now on: the stall clock starts */
    if (c->out_off + c->out_len + n > c->hub->cfg.out_bytes) {
        memmove(c->out, c->out + c->out_off, c->out_len); /* compact: room at the end */
        c->out_off = 0;
    }
    memcpy(c->out + c->out_off + c->out_len, data, n);
    c->out_len += n;
    mark_dirty(c);
}

/* A reply to a command. hub_conn_input() only runs a command when HUB_REPLY_MAX bytes
 * are free, so a reply always fits; a notice to another connection may not, and then
 * that connection is closed without it. */
static void reply(struct hub_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct hub_conn *c, const char *fmt, ...)
{
    char buf[HUB_REPLY_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(buf) - 2)
        n = (int)sizeof(buf) - 2;
    buf[n++] = '\n';
    if ((size_t)n <= out_space(c))
        out_put(c, buf, (size_t)n);
}

static const char *conn_name(const struct hub_conn *c)
{
    return c->sub ? c->sub->id : "(taken over)";
}

static void reply_err(struct hub_conn *c, int code, const char *why)
{
    c->hub->stats.errors++;
    hub_trace(c->hub, "%s <- ERR %d %s", conn_name(c), code, why);
    reply(c, "ERR %d %s", code, why);
}

/* ---- the event store and the durable queues ---- */

static struct hub_event *event_new(struct hub *hub, uint64_t seq, const char *line, size_t len)
{
    struct hub_event *ev = malloc(sizeof(*ev) + len);
    if (!ev)
        return NULL;
    ev->seq = seq;
    ev->refs = 0;
    ev->len = len;
    memcpy(ev->line, line, len);
    ev->newer = NULL;
    ev->older = hub->newest;
    if (hub->newest)
        hub->newest->newer = ev;
    else
        hub->oldest = ev;
    hub->newest = ev;
    hub->store_used += sizeof(*ev) + len;
    hub->stats.stored_events++;
    return ev;
}

static void event_free(struct hub *hub, struct hub_event *ev)
{
    if (ev->older)
        ev->older->newer = ev->newer;
    else
        hub->oldest = ev->newer;
    if (ev->newer)
        ev->newer->older = ev->older;
    else
        hub->newest = ev->older;
    hub->store_used -= sizeof(*ev) + ev->len;
    hub->stats.stored_events--;
    free(ev);
}

static void event_unref(struct hub *hub, struct hub_event *ev)
{
    if (--ev->refs == 0)
        event_free(hub, ev);
}

static struct hub_event *q_at(const struct hub *hub, const struct hub_sub *s, unsigned i)
{
    return s->queue[(s->qhead + i) % hub->cfg.queue_len];
}

/* Remove the oldest queued event (acknowledged, or dropped to make room). */
static void q_pop(struct hub *hub, struct hub_sub *s)
{
    struct hub_event *ev = q_at(hub, s, 0);
    s->qhead = (s->qhead + 1) % hub->cfg.queue_len;
    s->qlen--;
    if (s->qsent)
        s->qsent--;
    event_unref(hub, ev);
}

static void q_push(struct hub *hub, struct hub_sub *s, struct hub_event *ev)
{
    /* LAB hub: begin */
    if (s->qlen == hub->cfg.queue_len) {
        /* Full: the oldest goes, as the contract says, and we count it. */
        hub->stats.queue_drops++;
        hub_trace(hub, "%s: queue full (%u), dropped event %" PRIu64, s->id, s->qlen,
                  q_at(hub, s, 0)->seq);
        q_pop(hub, s);
    }
    s->queue[(s->qhead + s->qlen) % hub->cfg.queue_len] = ev;
    s->qlen++;
    ev->refs++;
    /* LAB hub: end */
}

/* Keep the store within cfg.store_bytes by dropping the oldest events. The oldest event
 * in the store is the oldest of every queue holding it, so it sits at their fronts. */
static void store_trim(struct hub *hub)
{
    while (hub->store_used > hub->cfg.store_bytes && hub->oldest) {
        struct hub_event *ev = hub->oldest;
        ev->refs++; /* hold it while the queues let go */
        for (struct hub_sub *s = hub->durables; s; s = s->next) {
            if (s->qlen && q_at(hub, s, 0) == ev) {
                q_pop(hub, s);
                hub->stats.store_drops++;
            }
        }
        hub_trace(hub, "event store full, dropped event %" PRIu64, ev->seq);
        event_unref(hub, ev); /* every queue let go: this frees it */
    }
}

/* Move queued events of a connected durable client into its output, in order, as far
 * as the buffer allows (keeping room for a reply); the rest wait for hub_conn_sent(). */
static void pump(struct hub_conn *c)
{
    struct hub *hub = c->hub;
    struct hub_sub *s = c->sub;
    if (!s || !s->durable)
        return;
    while (s->qsent < s->qlen) {
        struct hub_event *ev = q_at(hub, s, s->qsent);
        if (out_space(c) < ev->len + HUB_REPLY_MAX)
            return;
        out_put(c, ev->line, ev->len);
        s->qsent++;
        hub->stats.events_out++;
    }
}

/* ---- rooms ---- */

static struct hub_room *room_find(struct hub *hub, const char *name, size_t len)
{
    for (struct hub_room *r = hub->rooms; r; r = r->next)
        if (strlen(r->name) == len && !memcmp(r->name, name, len))
            return r;
    return NULL;
}

static bool sub_in_room(const struct hub_sub *s, const struct hub_room *r)
{
    for (unsigned i = 0; i < s->nrooms; i++)
        if (s->rooms[i] == r)
            return true;
    return false;
}

static struct hub_room *room_new(struct hub *hub, const char *name, size_t len)
{
    if (hub->stats.rooms >= hub->cfg.max_rooms)
        return NULL;
    struct hub_room *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    memcpy(r->name, name, len);
    r->next = hub->rooms;
    if (hub->rooms)
        hub->rooms->prev = r;
    hub->rooms = r;
    hub->stats.rooms++;
    return r;
}

static void room_free(struct hub *hub, struct hub_room *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        hub->rooms = r->next;
    if (r->next)
        r->next->prev = r->prev;
    hub->stats.rooms--;
    free(r->members);
    free(r);
}

/* Returns 0, or -ENOMEM (the member list could not grow). */
static int sub_join(struct hub_sub *s, struct hub_room *r)
{
    if (r->nmembers == r->cap) {
        unsigned cap = r->cap ? r->cap * 2 : 8;
        struct hub_sub **m = realloc(r->members, cap * sizeof(*m));
        if (!m)
            return -ENOMEM;
        r->members = m;
        r->cap = cap;
    }
    r->members[r->nmembers++] = s;
    s->rooms[s->nrooms++] = r;
    return 0;
}

static void sub_leave(struct hub *hub, struct hub_sub *s, struct hub_room *r)
{
    for (unsigned i = 0; i < r->nmembers; i++)
        if (r->members[i] == s) {
            r->members[i] = r->members[--r->nmembers]; /* order in a room does not matter */
            break;
        }
    for (unsigned i = 0; i < s->nrooms; i++)
        if (s->rooms[i] == r) {
            s->rooms[i] = s->rooms[--s->nrooms];
            break;
        }
    if (r->nmembers == 0)
        room_free(hub, r); /* an empty room is forgotten; JOIN makes it again */
}

/* ---- subscribers ---- */

static struct hub_sub *sub_new(struct hub *hub, bool durable)
{
    struct hub_sub *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->durable = durable;
    s->rooms = calloc(hub->cfg.max_rooms_per_client, sizeof(*s->rooms));
    if (durable)
        s->queue = calloc(hub->cfg.queue_len, sizeof(*s->queue));
    if (!s->rooms || (durable && !s->queue)) {
        free(s->rooms);
        free(s);
        return NULL;
    }
    return s;
}

static void sub_free(struct hub *hub, struct hub_sub *s)
{
    while (s->nrooms)
        sub_leave(hub, s, s->rooms[0]);
    while (s->qlen)
        q_pop(hub, s);
    if (s->durable) {
        if (s->prev)
            s->prev->next = s->next;
        else
            hub->durables = s->next;
        if (s->next)
            s->next->prev = s->prev;
        hub->stats.durable--;
    }
    free(s->queue);
    free(s->rooms);
    free(s);
}

static struct hub_sub *durable_find(struct hub *hub, const char *id)
{
    for (struct hub_sub *s = hub->durables; s; s = s->next)
        if (!strcmp(s->id, id))
            return s;
    return NULL;
}

/* A new durable client; when the table is full the offline one seen longest ago is
 * forgotten. NULL if every durable client is online (or memory ran out). */
static struct hub_sub *durable_new(struct hub *hub, const char *id)
{
    if (hub->stats.durable >= hub->cfg.max_durable) {
        struct hub_sub *victim = NULL;
        for (struct hub_sub *s = hub->durables; s; s = s->next)
            if (!s->conn && (!victim || s->last_seen < victim->last_seen))
                victim = s;
        if (!victim)
            return NULL;
        hub_trace(hub, "durable table full (%u): forgetting %s", hub->cfg.max_durable, victim->id);
        hub->stats.durable_evicted++;
        sub_free(hub, victim);
    }
    struct hub_sub *s = sub_new(hub, true);
    if (!s)
        return NULL;
    snprintf(s->id, sizeof(s->id), "%s", id);
    s->next = hub->durables;
    if (hub->durables)
        hub->durables->prev = s;
    hub->durables = s;
    hub->stats.durable++;
    return s;
}

/* ---- the commands ---- */

/* Another connection says HELLO with this connection's client-id: the newer one wins
 * (the old one is most likely dead and we have not noticed yet). */
static void take_over(struct hub_conn *old)
{
    struct hub *hub = old->hub;
    hub->stats.takeovers++;
    hub_trace(hub, "%s connected again: closing its old connection", old->sub->id);
    hub->stats.errors++;
    reply(old, "ERR %d client-id %s connected again elsewhere", HUB_ERR_CONFLICT, old->sub->id);
    old->sub->conn = NULL;
    old->sub = NULL;
    old->closing = true;
    mark_dirty(old);
}

static void do_hello(struct hub_conn *c, const struct hub_cmd *cmd)
{
    struct hub *hub = c->hub;
    struct hub_sub *anon = c->sub;
    if (anon->durable) {
        reply_err(c, HUB_ERR_CONFLICT, "already said HELLO on this connection");
        return;
    }
    char id[HUB_NAME_MAX + 1];
    memcpy(id, cmd->name.p, cmd->name.len);
    id[cmd->name.len] = '\0';
    struct hub_sub *s = durable_find(hub, id);
    if (s && s->conn)
        take_over(s->conn);
    if (!s && !(s = durable_new(hub, id))) {
        reply_err(c, HUB_ERR_FULL, "too many durable clients");
        return;
    }
    /* Rooms joined before HELLO carry over (as far as the room limit allows). */
    for (unsigned i = 0; i < anon->nrooms; i++)
        if (!sub_in_room(s, anon->rooms[i]) && s->nrooms < hub->cfg.max_rooms_per_client)
            sub_join(s, anon->rooms[i]);
    sub_free(hub, anon);
    c->sub = s;
    s->conn = c;
    s->qsent = 0; /* whatever went out before was not acknowledged: all of it again */
    s->last_seen = ++hub->tick;
    hub->stats.hellos++;
    hub_trace(hub, "%s HELLO: %u events to replay", s->id, s->qlen);
    reply(c, "OK HELLO %s %u", s->id, s->qlen);
    pump(c);
}

static void do_join(struct hub_conn *c, const struct hub_cmd *cmd)
{
    struct hub *hub = c->hub;
    struct hub_sub *s = c->sub;
    struct hub_room *r = room_find(hub, cmd->name.p, cmd->name.len);
    int n = (int)cmd->name.len;
    if (r && sub_in_room(s, r)) {
        reply(c, "OK JOIN %.*s", n, cmd->name.p); /* already there: nothing changes */
        return;
    }
    if (s->nrooms >= hub->cfg.max_rooms_per_client) {
        reply_err(c, HUB_ERR_TOO_MANY, "too many rooms for one client");
        return;
    }
    bool created = false;
    if (!r) {
        if (!(r = room_new(hub, cmd->name.p, cmd->name.len))) {
            reply_err(c, HUB_ERR_FULL, "too many rooms");
            return;
        }
        created = true;
    }
    if (sub_join(s, r) < 0) {
        if (created)
            room_free(hub, r);
        reply_err(c, HUB_ERR_FULL, "out of memory");
        return;
    }
    hub_trace(hub, "%s JOIN %s (%u members)", s->id, r->name, r->nmembers);
    reply(c, "OK JOIN %.*s", n, cmd->name.p);
}

static void do_leave(struct hub_conn *c, const struct hub_cmd *cmd)
{
    struct hub *hub = c->hub;
    struct hub_room *r = room_find(hub, cmd->name.p, cmd->name.len);
    if (!r || !sub_in_room(c->sub, r)) {
        reply_err(c, HUB_ERR_FORBIDDEN, "not a member of that room");
        return;
    }
    hub_trace(hub, "%s LEAVE %s", c->sub->id, r->name);
    sub_leave(hub, c->sub, r);
    reply(c, "OK LEAVE %.*s", (int)cmd->name.len, cmd->name.p);
}

/* ---- flow control: no event is lost silently ----
 * A durable subscriber's events wait in its queue. An anonymous one has only its output
 * buffer, so the hub stops reading an emitter while any anonymous subscriber of the
 * emitter's rooms holds more than half a buffer (the high-water mark): TCP's window then
 * closes on the emitter, and it waits for the slowest reader. One that reads nothing for
 * cfg.stall_ms is cut off with a reason (ERR 503), and the others go on. */

static uint64_t hub_now(const struct hub *hub)
{
    return hub->stack ? stack_now_us(hub->stack) : 0;
}

static bool over_high_water(const struct hub_conn *c)
{
    return c->out_len > c->hub->cfg.out_bytes / 2;
}

/* Cut a subscriber off: the reason goes last into its buffer (fan_out keeps room for
 * one reply), and the server closes it without waiting for the buffer to drain. */
static void kick(struct hub_conn *c, const char *why)
{
    struct hub *hub = c->hub;
    hub->stats.slow_disconnects++;
    hub_trace(hub, "%s disconnected: %s", conn_name(c), why);
    reply(c, "ERR %d %s", HUB_ERR_FULL, why);
    c->kicked = c->closing = true;
    mark_dirty(c);
}

/* Must the emitter c wait? Yes while an anonymous, live subscriber of one of its rooms
 * is over the high-water mark; one that is also stalled is cut off instead. */
static bool must_wait(struct hub_conn *c)
{
    struct hub *hub = c->hub;
    struct hub_sub *s = c->sub;
    bool wait = false;
    for (unsigned i = 0; i < s->nrooms; i++) {
        struct hub_room *r = s->rooms[i];
        for (unsigned j = 0; j < r->nmembers; j++) {
            struct hub_sub *m = r->members[j];
            if (m == s || m->durable || !m->conn || m->conn->kicked || !over_high_water(m->conn))
                continue;
            if (hub_now(hub) - m->conn->last_progress_us >= (uint64_t)hub->cfg.stall_ms * 1000)
                kick(m->conn, "too slow: read nothing while behind, disconnected");
            else
                wait = true;
        }
    }
    return wait;
}

static void pause_emitter(struct hub_conn *c)
{
    if (c->paused)
        return;
    c->paused = true;
    c->hub->npaused++;
    c->hub->stats.emitters_paused++;
    hub_trace(c->hub, "%s paused: a subscriber of its room is behind", conn_name(c));
}

unsigned hub_paused(const struct hub *hub)
{
    return hub->npaused;
}

/* Every paused emitter is marked dirty: the server reads it again (and it rechecks). */
void hub_wake_paused(struct hub *hub)
{
    if (hub->npaused == 0)
        return;
    for (struct hub_conn *c = hub->conns; c; c = c->next)
        if (c->paused) {
            c->paused = false;
            mark_dirty(c);
        }
    hub->npaused = 0;
}

/* Hand one event to every member of the room but its sender: queued for durable
 * members (and sent at once if connected), sent live to anonymous ones. Flow control
 * (must_wait) keeps room for it; should it still not fit (many emitters at once), the
 * subscriber is cut off with a reason rather than silently missing the event. */
static void fan_out(struct hub *hub, struct hub_sub *sender, struct hub_room *r,
                    struct hub_event *ev)
{
    /* LAB hub: begin */
    for (unsigned i = 0; i < r->nmembers; i++) {
        struct hub_sub *m = r->members[i];
        if (m == sender)
            continue;
        if (m->durable) {
            q_push(hub, m, ev);
            if (m->conn)
                pump(m->conn);
        } else if (m->conn->kicked) {
            continue; /* told already; closing */
        } else if (out_space(m->conn) >= ev->len + HUB_REPLY_MAX) {
            out_put(m->conn, ev->line, ev->len);
            hub->stats.events_out++;
        } else {
            hub->stats.slow_drops++;
            kick(m->conn, "too slow: an event did not fit, disconnected");
        }
    }
    /* LAB hub: end */
}

static void do_emit(struct hub_conn *c, const struct hub_cmd *cmd)
{
    struct hub *hub = c->hub;
    struct hub_room *r = room_find(hub, cmd->name.p, cmd->name.len);
    if (!r || !sub_in_room(c->sub, r)) {
        /* Like a socket.io client that emits to a room it never joined: refused, so a
         * typo in a room name is seen at once instead of vanishing silently. */
        reply_err(c, HUB_ERR_FORBIDDEN, "not a member of that room (JOIN it first)");
        return;
    }
    struct hub_span payload = {hub->scrubbed,
                               hub_scrub(hub->scrubbed, cmd->payload.p, cmd->payload.len)};
    uint64_t seq = hub->last_seq + 1;
    size_t len = hub_format_event(hub->line, sizeof(hub->line), seq, &cmd->name, &cmd->event,
                                  c->sub->id, &payload);
    struct hub_event *ev = len ? event_new(hub, seq, hub->line, len) : NULL;
    if (!ev) {
        reply_err(c, HUB_ERR_FULL, "out of memory");
        return;
    }
    hub->last_seq = seq;
    hub->stats.events_in++;
    hub_trace(hub, "%s EMIT %s %.*s seq=%" PRIu64 " to %u other members", c->sub->id, r->name,
              (int)cmd->event.len, cmd->event.p, seq, r->nmembers - 1);
    fan_out(hub, c->sub, r, ev);
    if (ev->refs == 0)
        event_free(hub, ev); /* no durable member: nothing to keep */
    store_trim(hub);
    reply(c, "OK EMIT %" PRIu64, seq);
}

static void do_ack(struct hub_conn *c, const struct hub_cmd *cmd)
{
    struct hub *hub = c->hub;
    struct hub_sub *s = c->sub;
    if (!s->durable) {
        reply_err(c, HUB_ERR_FORBIDDEN, "ACK needs HELLO first (anonymous clients keep no queue)");
        return;
    }
    if (cmd->seq > hub->last_seq) {
        reply_err(c, HUB_ERR_SYNTAX, "no such event yet");
        return;
    }
    /* Cumulative, like a TCP ACK: everything up to seq that this connection was sent. */
    unsigned before = s->qlen;
    while (s->qsent > 0 && q_at(hub, s, 0)->seq <= cmd->seq)
        q_pop(hub, s);
    hub->stats.acks++;
    hub_trace(hub, "%s ACK %" PRIu64 ": %u events released, %u still queued", s->id, cmd->seq,
              before - s->qlen, s->qlen);
    reply(c, "OK ACK %" PRIu64, cmd->seq);
    pump(c);
}

static void execute(struct hub_conn *c, char *line, size_t len)
{
    struct hub_cmd cmd;
    const char *why;
    int err = hub_parse(line, len, &cmd, &why);
    if (err) {
        reply_err(c, err, why);
        return;
    }
    switch (cmd.verb) {
    case HUB_NONE:
        break;
    case HUB_HELLO:
        do_hello(c, &cmd);
        break;
    case HUB_JOIN:
        do_join(c, &cmd);
        break;
    case HUB_LEAVE:
        do_leave(c, &cmd);
        break;
    case HUB_EMIT:
        do_emit(c, &cmd);
        break;
    case HUB_ACK:
        do_ack(c, &cmd);
        break;
    case HUB_QUIT:
        hub_trace(c->hub, "%s QUIT", c->sub->id);
        reply(c, "OK BYE");
        c->closing = true;
        break;
    }
}

/* ---- the core's API ---- */

struct hub *hub_create(const struct hub_config *cfg, struct stack *stack)
{
    struct hub *hub = calloc(1, sizeof(*hub));
    if (!hub)
        return NULL;
    if (cfg)
        hub->cfg = *cfg;
    else
        hub_config_init(&hub->cfg);
    /* An output buffer must hold the longest event and a reply besides. */
    if (hub->cfg.out_bytes < HUB_OUT_LINE_MAX + HUB_REPLY_MAX)
        hub->cfg.out_bytes = HUB_OUT_LINE_MAX + HUB_REPLY_MAX;
    if (hub->cfg.queue_len < 1)
        hub->cfg.queue_len = 1;
    if (hub->cfg.max_rooms_per_client < 1)
        hub->cfg.max_rooms_per_client = 1;
    /* The hub's own limit comes before the stack's socket limit, so that a client beyond
     * it is told (ERR 503 hub full) instead of waiting unaccepted: a few sockets stay free
     * for the other services and for the refusals themselves. */
    if (stack && stack_config(stack)->max_sockets > HUB_SPARE_SOCKETS &&
        hub->cfg.max_clients > stack_config(stack)->max_sockets - HUB_SPARE_SOCKETS)
        hub->cfg.max_clients = stack_config(stack)->max_sockets - HUB_SPARE_SOCKETS;
    hub->stack = stack;
    return hub;
}

void hub_destroy(struct hub *hub)
{
    if (!hub)
        return;
    while (hub->conns)
        hub_conn_closed(hub->conns);
    while (hub->durables)
        sub_free(hub, hub->durables);
    free(hub);
}

const struct hub_stats *hub_stats(const struct hub *hub)
{
    return &hub->stats;
}

void hub_stats_print(const struct hub *hub, FILE *out)
{
    const struct hub_stats *s = &hub->stats;
    fprintf(out, "Hub (L7):\n");
    fprintf(out, "    %" PRIu64 " clients connected\n", s->clients);
    fprintf(out, "    %" PRIu64 " durable clients known\n", s->durable);
    fprintf(out, "    %" PRIu64 " rooms\n", s->rooms);
    fprintf(out, "    %" PRIu64 " events kept for durable clients\n", s->stored_events);
#define HUB_PRINT(name, text)                                                                      \
    if (s->name)                                                                                   \
        fprintf(out, "    %" PRIu64 " %s\n", s->name, text);
    HUB_COUNTERS(HUB_PRINT)
#undef HUB_PRINT
}

uint64_t hub_last_seq(const struct hub *hub)
{
    return hub->last_seq;
}

long hub_queued(const struct hub *hub, const char *id)
{
    struct hub_sub *s = durable_find((struct hub *)hub, id);
    return s ? (long)s->qlen : -1;
}

struct hub_conn *hub_conn_open(struct hub *hub, void *io)
{
    if (hub->stats.clients >= hub->cfg.max_clients) {
        hub->stats.conns_refused++;
        hub_trace(hub, "full (%u clients): connection refused", hub->cfg.max_clients);
        return NULL;
    }
    struct hub_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->out = malloc(hub->cfg.out_bytes);
    c->sub = sub_new(hub, false);
    if (!c->out || !c->sub) {
        free(c->out);
        free(c->sub ? c->sub->rooms : NULL);
        free(c->sub);
        free(c);
        hub->stats.conns_refused++;
        return NULL;
    }
    c->hub = hub;
    c->io = io;
    c->last_progress_us = hub_now(hub);
    hub_line_init(&c->reader);
    snprintf(c->sub->id, sizeof(c->sub->id), "anon-%" PRIu64, ++hub->anon_count);
    c->sub->conn = c;
    c->next = hub->conns;
    if (hub->conns)
        hub->conns->prev = c;
    hub->conns = c;
    hub->stats.clients++;
    hub->stats.conns_accepted++;
    hub_trace(hub, "%s connected (%" PRIu64 " clients)", c->sub->id, hub->stats.clients);
    return c;
}

void *hub_conn_io(const struct hub_conn *c)
{
    return c->io;
}

const char *hub_conn_name(const struct hub_conn *c)
{
    return conn_name(c);
}

void hub_conn_closed(struct hub_conn *c)
{
    struct hub *hub = c->hub;
    struct hub_sub *s = c->sub;
    hub_trace(hub, "%s disconnected", conn_name(c));
    if (s && s->durable) {
        s->conn = NULL; /* it stays in its rooms; events queue up until it is back */
        s->qsent = 0;
        s->last_seen = ++hub->tick;
    } else if (s) {
        sub_free(hub, s);
    }
    if (c->dirty) { /* unlink from the dirty list */
        struct hub_conn **pp = &hub->dirty_head, *prev = NULL;
        while (*pp != c) {
            prev = *pp;
            pp = &(*pp)->dirty_next;
        }
        *pp = c->dirty_next;
        if (hub->dirty_tail == c)
            hub->dirty_tail = prev;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        hub->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    hub->stats.clients--;
    if (c->paused)
        hub->npaused--;
    free(c->out);
    free(c);
    hub_wake_paused(hub); /* a subscriber they waited for may be gone */
}

size_t hub_conn_input(struct hub_conn *c, const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t off = 0;
    while (off < len) {
        if (c->closing || !c->sub)
            return len; /* after QUIT or a takeover, input is ignored */
        if (out_space(c) < HUB_REPLY_MAX)
            break; /* the client is not reading its replies: stop reading its commands */
        if (must_wait(c)) {
            pause_emitter(c); /* read again by hub_wake_paused */
            break;
        }
        size_t used;
        char *line;
        size_t n;
        enum hub_line_status st = hub_line_feed(&c->reader, p + off, len - off, &used, &line, &n);
        off += used;
        if (st == HUB_LINE_READY) {
            execute(c, line, n);
        } else if (st == HUB_LINE_TOO_LONG) {
            c->hub->stats.lines_too_long++;
            reply_err(c, HUB_ERR_TOO_LONG, "line too long (max 1024 bytes)");
        }
    }
    return off;
}

size_t hub_conn_output(const struct hub_conn *c, const void **data)
{
    *data = c->out + c->out_off;
    return c->out_len;
}

void hub_conn_sent(struct hub_conn *c, size_t n)
{
    if (n > c->out_len)
        n = c->out_len;
    c->out_off += n;
    c->out_len -= n;
    if (c->out_len == 0)
        c->out_off = 0;
    if (n > 0)
        c->last_progress_us = hub_now(c->hub);
    if (!over_high_water(c))
        hub_wake_paused(c->hub); /* maybe it was the one they waited for */
    if (!c->closing)
        pump(c);
}

bool hub_conn_closing(const struct hub_conn *c)
{
    return c->closing;
}

bool hub_conn_kicked(const struct hub_conn *c)
{
    return c->kicked;
}

struct hub_conn *hub_next_dirty(struct hub *hub)
{
    struct hub_conn *c = hub->dirty_head;
    if (!c)
        return NULL;
    hub->dirty_head = c->dirty_next;
    if (!hub->dirty_head)
        hub->dirty_tail = NULL;
    c->dirty = false;
    c->dirty_next = NULL;
    return c;
}

/* ---- the server: the core on TCP sockets ---- */

/* One TCP connection. Bytes received but not yet taken by the core wait in `in` (the
 * core stops taking them while the client does not read its replies). */
struct hub_link {
    struct hub_server *srv;
    struct sock *sock;
    struct hub_conn *conn;
    uint8_t in[2048];
    size_t in_off, in_len;
    bool eof;      /* the peer sent FIN (or the stream failed) */
    unsigned busy; /* inside one of our callbacks: freeing waits until it returns */
    bool dead;
    struct hub_link *prev, *next;
};

struct hub_server {
    struct stack *stack;
    struct hub *hub;
    struct sock *listener;
    struct hub_link *links;
    struct timer recheck; /* wakes paused emitters (flow control) */
};

static void link_free(struct hub_link *l)
{
    struct hub_server *srv = l->srv;
    if (l->prev)
        l->prev->next = l->next;
    else
        srv->links = l->next;
    if (l->next)
        l->next->prev = l->prev;
    free(l);
}

/* Close the connection now; free the link at once, or when the callback using it ends. */
static void link_close(struct hub_link *l)
{
    if (l->conn) {
        hub_conn_closed(l->conn);
        l->conn = NULL;
    }
    if (l->sock) {
        sock_close(l->sock); /* TCP sends what is buffered, then FIN */
        l->sock = NULL;
    }
    if (l->busy)
        l->dead = true;
    else
        link_free(l);
}

static void link_enter(struct hub_link *l)
{
    l->busy++;
}

static void link_leave(struct hub_link *l)
{
    if (--l->busy == 0 && l->dead)
        link_free(l);
}

/* Move the core's output into the socket while TCP has room for it. */
static void link_flush(struct hub_link *l)
{
    if (!l->conn)
        return;
    const void *data;
    size_t n;
    while ((n = hub_conn_output(l->conn, &data)) > 0 && sock_send_space(l->sock) > 0) {
        ssize_t sent = sock_send(l->sock, data, n);
        if (sent <= 0)
            break; /* -EAGAIN: on_writable calls us again; an error comes as on_error */
        hub_conn_sent(l->conn, (size_t)sent); /* may pump more queued events in */
    }
    if (hub_conn_kicked(l->conn) ||
        (hub_conn_output(l->conn, &data) == 0 && (hub_conn_closing(l->conn) || l->eof)))
        link_close(l);
}

/* Feed received bytes to the core until TCP has no more or the core stops taking them
 * (its output is full). Bounded by TCP's receive buffer. */
static void link_read(struct hub_link *l)
{
    while (l->conn && !l->eof) {
        if (l->in_len == 0) {
            ssize_t n = sock_recv(l->sock, l->in, sizeof(l->in));
            if (n == -EAGAIN)
                return;
            if (n <= 0) {
                l->eof = true; /* end of stream: answer what came, then close */
                return;
            }
            l->in_off = 0;
            l->in_len = (size_t)n;
        }
        size_t took = hub_conn_input(l->conn, l->in + l->in_off, l->in_len);
        l->in_off += took;
        l->in_len -= took;
        if (l->in_len)
            return; /* wait for on_writable */
    }
}

/* Every connection that got output (its own replies, events from others) sends it, and
 * one that was paused (flow control) is read again. While emitters stay paused, a timer
 * wakes them now and then, so a subscriber that stalled for good is found and cut off. */
static void server_flush(struct hub_server *srv)
{
    struct hub_conn *c;
    while ((c = hub_next_dirty(srv->hub)) != NULL) {
        struct hub_link *l = hub_conn_io(c);
        link_enter(l);
        link_flush(l);
        if (l->conn && !l->dead)
            link_read(l);
        link_leave(l);
    }
    if (hub_paused(srv->hub) && !timer_armed(&srv->recheck))
        timer_arm(srv->stack, &srv->recheck, (uint64_t)srv->hub->cfg.stall_ms * 1000 / 4 + 1);
}

static void recheck_fire(struct stack *stack, void *arg)
{
    struct hub_server *srv = arg;
    (void)stack;
    hub_wake_paused(srv->hub);
    server_flush(srv);
}

static void link_readable(struct sock *s, void *ctx)
{
    struct hub_link *l = ctx;
    (void)s;
    link_enter(l);
    link_read(l);
    if (l->eof && l->conn && l->in_len == 0)
        link_flush(l); /* nothing more will come: close once the output is out */
    server_flush(l->srv);
    link_leave(l);
}

static void link_writable(struct sock *s, void *ctx)
{
    struct hub_link *l = ctx;
    link_enter(l);
    link_flush(l);
    link_readable(s, ctx); /* commands that waited for output room */
    link_leave(l);
}

static void link_error(struct sock *s, int err, void *ctx)
{
    struct hub_link *l = ctx;
    (void)s;
    hub_trace(l->srv->hub, "%s: connection failed (%s)", l->conn ? hub_conn_name(l->conn) : "?",
              strerror(-err));
    link_enter(l);
    link_close(l);
    server_flush(l->srv);
    link_leave(l);
}

static const struct sock_events link_events = {
    .on_readable = link_readable,
    .on_writable = link_writable,
    .on_closed = link_readable, /* reads the rest, sees end of stream */
    .on_error = link_error,
};

static void server_accept(struct sock *listener, void *ctx)
{
    struct hub_server *srv = ctx;
    struct sock *s;
    while (sock_accept(listener, &s) == 0) {
        struct hub_link *l = calloc(1, sizeof(*l));
        struct hub_conn *c = l ? hub_conn_open(srv->hub, l) : NULL;
        if (!c) {
            static const char full[] = "ERR 503 hub full\n";
            sock_send(s, full, sizeof(full) - 1);
            sock_close(s);
            free(l);
            continue;
        }
        l->srv = srv;
        l->sock = s;
        l->conn = c;
        /* Events are small and should leave at once: Nagle would hold each one back
         * until the subscriber's (delayed) ACK of the previous one, up to 40 ms. */
        sock_setopt(s, SOCK_OPT_NODELAY, 1);
        l->next = srv->links;
        if (srv->links)
            srv->links->prev = l;
        srv->links = l;
        if (srv->hub->cfg.sndbuf)
            sock_setopt(s, SOCK_OPT_SNDBUF, (int)srv->hub->cfg.sndbuf);
        sock_on(s, &link_events, l);
        link_readable(s, l); /* data may have come with the handshake */
    }
}

static const struct sock_events listener_events = {.on_accept = server_accept};

struct hub_server *hub_server_start(struct stack *stack, uint16_t port,
                                    const struct hub_config *cfg, int *err)
{
    struct hub_server *srv = calloc(1, sizeof(*srv));
    if (!srv || !(srv->hub = hub_create(cfg, stack))) {
        free(srv);
        *err = -ENOMEM;
        return NULL;
    }
    srv->stack = stack;
    timer_init(&srv->recheck, recheck_fire, srv);
    srv->listener = sock_open(stack, SOCK_TYPE_TCP);
    if (!srv->listener) {
        *err = -EPROTONOSUPPORT; /* no TCP in this build (or no socket left) */
        goto fail;
    }
    if ((*err = sock_bind(srv->listener, 0, port)) < 0 ||
        (*err = sock_listen(srv->listener, 128)) < 0)
        goto fail;
    sock_on(srv->listener, &listener_events, srv);
    trace(stack, TRACE_APP, "hub: listening on TCP port %u", port);
    return srv;
fail:
    if (srv->listener)
        sock_close(srv->listener);
    hub_destroy(srv->hub);
    free(srv);
    return NULL;
}

void hub_server_stop(struct hub_server *srv)
{
    if (!srv)
        return;
    timer_cancel(srv->stack, &srv->recheck);
    while (srv->links)
        link_close(srv->links);
    if (srv->listener)
        sock_close(srv->listener);
    hub_destroy(srv->hub);
    free(srv);
}

struct hub *hub_server_core(struct hub_server *srv)
{
    return srv->hub;
}

/* ---- what the tapir command calls (apps.h) ---- */

struct hub_server *hub_start(struct stack *stack, uint16_t port, int *err)
{
    return hub_server_start(stack, port, NULL, err);
}

void hub_stop(struct hub_server *srv)
{
    hub_server_stop(srv);
}

void hub_print_stats(const struct hub_server *srv, FILE *out)
{
    if (srv)
        hub_stats_print(srv->hub, out);
}
