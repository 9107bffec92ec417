/* test_hub_proto.c - the hub without sockets: the line reader, parser and scrubber with
 * hostile input, then the core (rooms, seq numbers, durable queues, ACK, overflow, slow
 * readers) driven through hub_conn_input() / hub_conn_output(). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../apps/hub.h"
#include "../../apps/hub_proto.h"

/* ---- line reader ---- */

struct fed {
    int ready, too_long;
    char last[HUB_LINE_MAX + 2];
    size_t last_len;
};

static void feed_lines(struct hub_line_reader *r, const void *data, size_t len, struct fed *f)
{
    const uint8_t *p = data;
    size_t off = 0;
    while (off < len) {
        size_t used;
        char *line;
        size_t n;
        enum hub_line_status st = hub_line_feed(r, p + off, len - off, &used, &line, &n);
        ck_assert_uint_le(used, len - off);
        ck_assert_uint_le(r->len, sizeof(r->buf));
        off += used;
        if (st == HUB_LINE_READY) {
            f->ready++;
            memcpy(f->last, line, n);
            f->last_len = n;
        } else if (st == HUB_LINE_TOO_LONG) {
            f->too_long++;
        } else {
            ck_assert_uint_eq(off, len); /* NEED_MORE only when everything was taken */
        }
    }
}

START_TEST(line_basic_crlf_and_split)
{
    struct hub_line_reader r;
    struct fed f = {0};
    hub_line_init(&r);
    feed_lines(&r, "JOIN a\r\n", 8, &f);
    ck_assert_int_eq(f.ready, 1);
    ck_assert_uint_eq(f.last_len, 6);
    ck_assert(!memcmp(f.last, "JOIN a", 6));
    feed_lines(&r, "EM", 2, &f);
    ck_assert_int_eq(f.ready, 1);
    feed_lines(&r, "IT x y z\n\n", 10, &f);
    ck_assert_int_eq(f.ready, 3); /* the line, then an empty one */
    ck_assert_uint_eq(f.last_len, 0);
}
END_TEST

START_TEST(line_lone_cr_and_nul_are_data)
{
    struct hub_line_reader r;
    struct fed f = {0};
    hub_line_init(&r);
    feed_lines(&r, "a\rb\0c\r\r\n", 8, &f);
    ck_assert_int_eq(f.ready, 1);
    ck_assert_uint_eq(f.last_len, 6); /* only the last "\r" (before "\n") goes */
    ck_assert(!memcmp(f.last, "a\rb\0c\r", 6));
}
END_TEST

START_TEST(line_limit_exact)
{
    static char buf[HUB_LINE_MAX + 3];
    struct hub_line_reader r;
    struct fed f = {0};
    hub_line_init(&r);
    memset(buf, 'x', sizeof(buf));
    buf[HUB_LINE_MAX] = '\n'; /* 1024 bytes: fine */
    feed_lines(&r, buf, HUB_LINE_MAX + 1, &f);
    ck_assert_int_eq(f.ready, 1);
    ck_assert_int_eq(f.too_long, 0);
    ck_assert_uint_eq(f.last_len, HUB_LINE_MAX);
    buf[HUB_LINE_MAX] = '\r'; /* 1024 bytes and "\r\n": fine */
    buf[HUB_LINE_MAX + 1] = '\n';
    feed_lines(&r, buf, HUB_LINE_MAX + 2, &f);
    ck_assert_int_eq(f.ready, 2);
    ck_assert_int_eq(f.too_long, 0);
    buf[HUB_LINE_MAX] = 'x'; /* 1025 bytes: too long, reported at the "\n" */
    buf[HUB_LINE_MAX + 1] = '\n';
    feed_lines(&r, buf, HUB_LINE_MAX + 2, &f);
    ck_assert_int_eq(f.ready, 2);
    ck_assert_int_eq(f.too_long, 1);
    feed_lines(&r, "QUIT\n", 5, &f);
    ck_assert_int_eq(f.ready, 3);
    ck_assert_uint_eq(f.last_len, 4);
}
END_TEST

START_TEST(line_megabyte_without_newline)
{
    /* 1 MiB in 4 KiB chunks: one report, memory stays one line, the next line works. */
    struct hub_line_reader r;
    struct fed f = {0};
    static uint8_t chunk[4096];
    memset(chunk, 'A', sizeof(chunk));
    chunk[100] = 0; /* and some NULs and "\r" in it */
    chunk[200] = '\r';
    hub_line_init(&r);
    ck_assert_uint_le(sizeof(r), HUB_LINE_MAX + 64);
    for (int i = 0; i < 256; i++)
        feed_lines(&r, chunk, sizeof(chunk), &f);
    ck_assert_int_eq(f.too_long, 1);
    ck_assert_int_eq(f.ready, 0);
    ck_assert(r.discarding);
    feed_lines(&r, "tail\nJOIN ok\n", 13, &f);
    ck_assert_int_eq(f.too_long, 1);
    ck_assert_int_eq(f.ready, 1);
    ck_assert_uint_eq(f.last_len, 7);
    ck_assert(!memcmp(f.last, "JOIN ok", 7));
}
END_TEST

/* ---- parser ---- */

static int parse(const char *s, struct hub_cmd *cmd)
{
    static char line[2048];
    const char *why = NULL;
    size_t len = strlen(s);
    memcpy(line, s, len);
    int err = hub_parse(line, len, cmd, &why);
    ck_assert_ptr_nonnull(why);
    if (err)
        ck_assert_uint_gt(strlen(why), 0);
    return err;
}

static bool span_eq(const struct hub_span *s, const char *want)
{
    return s->len == strlen(want) && !memcmp(s->p, want, s->len);
}

START_TEST(parse_commands)
{
    struct hub_cmd c;
    ck_assert_int_eq(parse("HELLO alice", &c), 0);
    ck_assert_int_eq(c.verb, HUB_HELLO);
    ck_assert(span_eq(&c.name, "alice"));
    ck_assert_int_eq(parse("  join   lobby   ", &c), 0); /* case and extra spaces */
    ck_assert_int_eq(c.verb, HUB_JOIN);
    ck_assert(span_eq(&c.name, "lobby"));
    ck_assert_int_eq(parse("LEAVE a.b_c-9", &c), 0);
    ck_assert_int_eq(c.verb, HUB_LEAVE);
    ck_assert_int_eq(parse("EMIT  room  chat   hello   big world ", &c), 0);
    ck_assert_int_eq(c.verb, HUB_EMIT);
    ck_assert(span_eq(&c.name, "room"));
    ck_assert(span_eq(&c.event, "chat"));
    ck_assert(span_eq(&c.payload, "hello   big world "));
    ck_assert_int_eq(parse("EMIT room chat", &c), 0);
    ck_assert_uint_eq(c.payload.len, 0);
    ck_assert_int_eq(parse("ACK 18446744073709551615", &c), 0);
    ck_assert(c.seq == UINT64_MAX);
    ck_assert_int_eq(parse("QUIT", &c), 0);
    ck_assert_int_eq(c.verb, HUB_QUIT);
    ck_assert_int_eq(parse("", &c), 0);
    ck_assert_int_eq(c.verb, HUB_NONE);
    ck_assert_int_eq(parse("     ", &c), 0);
    ck_assert_int_eq(c.verb, HUB_NONE);
}
END_TEST

START_TEST(parse_errors)
{
    struct hub_cmd c;
    ck_assert_int_eq(parse("FROB x", &c), HUB_ERR_SYNTAX);
    ck_assert_int_eq(parse("JOINX a", &c), HUB_ERR_SYNTAX);
    ck_assert_int_eq(parse("\tJOIN a", &c), HUB_ERR_SYNTAX); /* tab is no separator */
    ck_assert_int_eq(parse("JOIN", &c), HUB_ERR_SYNTAX);
    ck_assert_int_eq(parse("JOIN a b", &c), HUB_ERR_SYNTAX);
    ck_assert_int_eq(parse("JOIN a/b", &c), HUB_ERR_SYNTAX);
    ck_assert_int_eq(parse("JOIN caf\xc3\xa9", &c), HUB_ERR_SYNTAX);
    ck_assert_int_eq(parse("JOIN a\x1b[2J", &c), HUB_ERR_SYNTAX);
    ck_assert_int_eq(parse("HELLO", &c), HUB_ERR_SYNTAX);
    ck_assert_int_eq(parse("HELLO anon-7", &c), HUB_ERR_SYNTAX); /* the hub's own names */
    ck_assert_int_eq(parse("EMIT room", &c), HUB_ERR_SYNTAX);
    ck_assert_int_eq(parse("EMIT r%m ev x", &c), HUB_ERR_SYNTAX);
    ck_assert_int_eq(parse("EMIT room ev! x", &c), HUB_ERR_SYNTAX);
    ck_assert_int_eq(parse("ACK", &c), HUB_ERR_SYNTAX);
    ck_assert_int_eq(parse("ACK -1", &c), HUB_ERR_SYNTAX);
    ck_assert_int_eq(parse("ACK 1x", &c), HUB_ERR_SYNTAX);
    ck_assert_int_eq(parse("ACK 18446744073709551616", &c), HUB_ERR_SYNTAX); /* overflow */
    ck_assert_int_eq(parse("ACK 1 2", &c), HUB_ERR_SYNTAX);
    ck_assert_int_eq(parse("QUIT now", &c), HUB_ERR_SYNTAX);

    /* a NUL inside a name: hub_parse works on (pointer, length), never stops at NUL */
    char line[] = "JOIN ab\0cd";
    const char *why;
    ck_assert_int_eq(hub_parse(line, sizeof(line) - 1, &c, &why), HUB_ERR_SYNTAX);
    char nul_cmd[] = "QU\0IT";
    ck_assert_int_eq(hub_parse(nul_cmd, sizeof(nul_cmd) - 1, &c, &why), HUB_ERR_SYNTAX);
}
END_TEST

START_TEST(parse_names_and_reserved)
{
    char name[80], line[128];
    struct hub_cmd c;
    memset(name, 'n', 64);
    name[64] = '\0';
    snprintf(line, sizeof(line), "JOIN %s", name);
    ck_assert_int_eq(parse(line, &c), 0); /* 64: the most */
    name[64] = 'n';
    name[65] = '\0';
    snprintf(line, sizeof(line), "JOIN %s", name);
    ck_assert_int_eq(parse(line, &c), HUB_ERR_SYNTAX); /* 65: one too many */

    static const char *reserved[] = {"connect",       "connect_error", "disconnect",
                                     "disconnecting", "newListener",   "removeListener"};
    for (int i = 0; i < 6; i++) {
        snprintf(line, sizeof(line), "EMIT room %s hi", reserved[i]);
        ck_assert_int_eq(parse(line, &c), HUB_ERR_RESERVED);
        ck_assert(hub_event_reserved(reserved[i], strlen(reserved[i])));
    }
    ck_assert_int_eq(parse("EMIT room connected hi", &c), 0);
    ck_assert_int_eq(parse("EMIT room Connect hi", &c), 0); /* names are case-sensitive */
    ck_assert(!hub_event_reserved("connec", 6));
    ck_assert(!hub_name_ok("", 0));
    ck_assert(hub_name_ok("A-z_0.9", 7));
}
END_TEST

/* ---- scrubbing and formatting ---- */

START_TEST(scrub_controls)
{
    char out[64];
    const char in[] = "a\0b\x1b[31mred\x7f\tok\r\x01\xc2\x9b"
                      "2J caf\xc3\xa9 \xc2\xa0";
    size_t n = hub_scrub(out, in, sizeof(in) - 1);
    const char want[] = "ab[31mred\tok2J caf\xc3\xa9 \xc2\xa0";
    ck_assert_uint_eq(n, sizeof(want) - 1);
    ck_assert(!memcmp(out, want, n));
    ck_assert_uint_eq(hub_scrub(out, "\x1b\x1b\n\r", 4), 0);
    ck_assert_uint_eq(hub_scrub(out, "\xc2", 1), 1); /* a lone lead byte is not a control */
}
END_TEST

START_TEST(format_event_line)
{
    char buf[HUB_OUT_LINE_MAX];
    struct hub_span room = {(char *)"lobby", 5}, ev = {(char *)"chat", 4};
    struct hub_span pl = {(char *)"hi  there", 9}, none = {NULL, 0};
    size_t n = hub_format_event(buf, sizeof(buf), 42, &room, &ev, "anon-1", &pl);
    ck_assert_uint_eq(n, strlen("EVENT 42 lobby chat anon-1 hi  there\n"));
    ck_assert(!memcmp(buf, "EVENT 42 lobby chat anon-1 hi  there\n", n));
    n = hub_format_event(buf, sizeof(buf), 7, &room, &ev, "bob", &none);
    ck_assert(!memcmp(buf, "EVENT 7 lobby chat bob\n", n));
    ck_assert_uint_eq(hub_format_event(buf, 10, 7, &room, &ev, "bob", &pl), 0);
}
END_TEST

/* ---- the core, without sockets ---- */

static struct hub *hub;

static void setup_with(unsigned queue_len, size_t out_bytes, size_t store_bytes)
{
    struct hub_config cfg;
    hub_config_init(&cfg);
    cfg.queue_len = queue_len;
    if (out_bytes)
        cfg.out_bytes = out_bytes;
    if (store_bytes)
        cfg.store_bytes = store_bytes;
    hub = hub_create(&cfg, NULL);
    ck_assert_ptr_nonnull(hub);
}

static void setup(void)
{
    setup_with(1000, 0, 0);
}

static void teardown(void)
{
    hub_destroy(hub);
    hub = NULL;
}

static struct hub_conn *open_conn(void)
{
    struct hub_conn *c = hub_conn_open(hub, NULL);
    ck_assert_ptr_nonnull(c);
    return c;
}

static void send_line(struct hub_conn *c, const char *s)
{
    size_t n = strlen(s);
    ck_assert_uint_eq(hub_conn_input(c, s, n), n);
}

/* Everything the hub has for c (as a reader that keeps up would get it), as a string. */
static char *drain(struct hub_conn *c)
{
    static char buf[1 << 20];
    size_t len = 0;
    const void *d;
    size_t n;
    while ((n = hub_conn_output(c, &d)) > 0) {
        ck_assert_uint_lt(len + n, sizeof(buf));
        memcpy(buf + len, d, n);
        len += n;
        hub_conn_sent(c, n);
    }
    buf[len] = '\0';
    return buf;
}

static int count_lines(const char *s, const char *prefix)
{
    int n = 0;
    for (const char *p = s; *p;) {
        if (!strncmp(p, prefix, strlen(prefix)))
            n++;
        const char *nl = strchr(p, '\n');
        if (!nl)
            break;
        p = nl + 1;
    }
    return n;
}

START_TEST(core_room_broadcast)
{
    struct hub_conn *a = open_conn(), *b = open_conn(), *c = open_conn(), *d = open_conn();
    send_line(a, "JOIN lobby\n");
    send_line(b, "JOIN lobby\n");
    send_line(c, "JOIN lobby\n");
    send_line(d, "JOIN other\n");
    ck_assert_str_eq(drain(a), "OK JOIN lobby\n");
    ck_assert_str_eq(drain(d), "OK JOIN other\n");
    drain(b);
    drain(c);
    send_line(a, "EMIT lobby chat hello\x1b[0m world\n");
    send_line(a, "EMIT lobby chat second\n");
    ck_assert_str_eq(drain(a), "OK EMIT 1\nOK EMIT 2\n");
    const char *want = "EVENT 1 lobby chat anon-1 hello[0m world\n"
                       "EVENT 2 lobby chat anon-1 second\n";
    ck_assert_str_eq(drain(b), want);
    ck_assert_str_eq(drain(c), want);
    ck_assert_str_eq(drain(d), ""); /* other rooms see nothing */
    send_line(d, "EMIT other ping x\n");
    ck_assert_str_eq(drain(d), "OK EMIT 3\n"); /* seq is hub-wide */
    ck_assert_str_eq(drain(a), "");
    ck_assert_uint_eq(hub_stats(hub)->events_in, 3);
    ck_assert_uint_eq(hub_stats(hub)->events_out, 4);
    ck_assert_uint_eq(hub_stats(hub)->rooms, 2);
    ck_assert_uint_eq(hub_stats(hub)->clients, 4);
    /* LEAVE: b no longer hears the lobby; the room goes when empty */
    send_line(b, "LEAVE lobby\n");
    ck_assert_str_eq(drain(b), "OK LEAVE lobby\n");
    send_line(c, "EMIT lobby chat x\n");
    ck_assert_str_eq(drain(b), "");
    ck_assert_str_eq(drain(a), "EVENT 4 lobby chat anon-3 x\n");
    hub_conn_closed(d);
    ck_assert_uint_eq(hub_stats(hub)->rooms, 1);
}
END_TEST

START_TEST(core_errors_keep_connection)
{
    struct hub_conn *a = open_conn(), *b = open_conn();
    send_line(b, "JOIN r\n");
    send_line(a, "JOIN r\n");
    drain(a);
    drain(b);
    send_line(a, "EMIT elsewhere ev x\n");
    ck_assert(!strncmp(drain(a), "ERR 403 ", 8)); /* EMIT to a room not joined */
    send_line(a, "EMIT r disconnect x\n");
    ck_assert(!strncmp(drain(a), "ERR 422 ", 8));
    send_line(a, "NOPE\n");
    ck_assert(!strncmp(drain(a), "ERR 400 ", 8));
    send_line(a, "LEAVE nowhere\n");
    ck_assert(!strncmp(drain(a), "ERR 403 ", 8));
    send_line(a, "ACK 1\n");
    ck_assert(!strncmp(drain(a), "ERR 403 ", 8)); /* anonymous: no queue */
    send_line(a, "JOIN bad/name\n");
    ck_assert(!strncmp(drain(a), "ERR 400 ", 8));
    send_line(a, "\n\r\n   \n"); /* empty lines: ignored, no reply */
    ck_assert_str_eq(drain(a), "");
    /* a 1 MiB line without "\n", in chunks: one ERR 413, nothing else */
    static char chunk[8192];
    memset(chunk, 'Z', sizeof(chunk));
    for (int i = 0; i < 128; i++)
        ck_assert_uint_eq(hub_conn_input(a, chunk, sizeof(chunk)), sizeof(chunk));
    send_line(a, "\n");
    const char *out = drain(a);
    ck_assert_int_eq(count_lines(out, "ERR 413 "), 1);
    ck_assert_int_eq(count_lines(out, ""), 1);
    ck_assert_str_eq(drain(b), ""); /* nothing of it reached anyone */
    send_line(a, "EMIT r ev still works\r\n");
    ck_assert_str_eq(drain(a), "OK EMIT 1\n");
    ck_assert_str_eq(drain(b), "EVENT 1 r ev anon-1 still works\n");
    ck_assert_uint_eq(hub_stats(hub)->errors, 7);
    ck_assert_uint_eq(hub_stats(hub)->lines_too_long, 1);
}
END_TEST

static void emit_n(struct hub_conn *from, const char *room, int n)
{
    char line[64];
    for (int i = 0; i < n; i++) {
        snprintf(line, sizeof(line), "EMIT %s tick %d\n", room, i);
        send_line(from, line);
    }
    drain(from);
}

START_TEST(core_durable_replay_and_ack)
{
    struct hub_conn *pub = open_conn();
    send_line(pub, "JOIN news\n");
    struct hub_conn *bob = open_conn();
    send_line(bob, "HELLO bob\nJOIN news\n");
    ck_assert_str_eq(drain(bob), "OK HELLO bob 0\nOK JOIN news\n");
    hub_conn_closed(bob);
    emit_n(pub, "news", 20);
    ck_assert_int_eq(hub_queued(hub, "bob"), 20);

    bob = open_conn();
    send_line(bob, "HELLO bob\n");
    const char *out = drain(bob);
    ck_assert(!strncmp(out, "OK HELLO bob 20\n", 16)); /* the reply first */
    char want[64];
    const char *p = strchr(out, '\n') + 1;
    for (int i = 0; i < 20; i++) { /* then the 20, in order */
        snprintf(want, sizeof(want), "EVENT %d news tick anon-1 %d\n", i + 1, i);
        ck_assert(!strncmp(p, want, strlen(want)));
        p += strlen(want);
    }
    ck_assert_str_eq(p, "");
    send_line(bob, "ACK 10\n"); /* cumulative: seqs 1..10 */
    ck_assert_str_eq(drain(bob), "OK ACK 10\n");
    ck_assert_int_eq(hub_queued(hub, "bob"), 10);
    send_line(bob, "ACK 999\n");
    ck_assert(!strncmp(drain(bob), "ERR 400 ", 8)); /* no such event yet */
    hub_conn_closed(bob);

    bob = open_conn();
    send_line(bob, "HELLO bob\n");
    out = drain(bob);
    ck_assert(!strncmp(out, "OK HELLO bob 10\nEVENT 11 news tick anon-1 10\n", 45));
    ck_assert_int_eq(count_lines(out, "EVENT "), 10);
    /* connected: a live event goes out once, and stays queued until ACKed */
    emit_n(pub, "news", 1);
    ck_assert_str_eq(drain(bob), "EVENT 21 news tick anon-1 0\n");
    ck_assert_str_eq(drain(bob), "");
    ck_assert_int_eq(hub_queued(hub, "bob"), 11);
    send_line(bob, "ACK 21\n");
    drain(bob);
    ck_assert_int_eq(hub_queued(hub, "bob"), 0);
    ck_assert_uint_eq(hub_stats(hub)->stored_events, 0);
    send_line(bob, "HELLO bob\n");
    ck_assert(!strncmp(drain(bob), "ERR 409 ", 8));
    send_line(bob, "QUIT\nJOIN ignored\n");
    ck_assert_str_eq(drain(bob), "OK BYE\n");
    ck_assert(hub_conn_closing(bob));
}
END_TEST

START_TEST(core_queue_overflow_drops_oldest)
{
    teardown();
    setup_with(5, 0, 0);
    struct hub_conn *pub = open_conn(), *bob = open_conn();
    send_line(pub, "JOIN r\n");
    send_line(bob, "HELLO bob\nJOIN r\n");
    hub_conn_closed(bob);
    emit_n(pub, "r", 8);
    ck_assert_int_eq(hub_queued(hub, "bob"), 5);
    ck_assert_uint_eq(hub_stats(hub)->queue_drops, 3);
    bob = open_conn();
    send_line(bob, "HELLO bob\n");
    const char *out = drain(bob);
    ck_assert_str_eq(out, "OK HELLO bob 5\n"
                          "EVENT 4 r tick anon-1 3\nEVENT 5 r tick anon-1 4\n"
                          "EVENT 6 r tick anon-1 5\nEVENT 7 r tick anon-1 6\n"
                          "EVENT 8 r tick anon-1 7\n");
}
END_TEST

START_TEST(core_store_budget)
{
    teardown();
    setup_with(1000, 0, 2000); /* room for a few events only */
    struct hub_conn *pub = open_conn(), *bob = open_conn();
    send_line(pub, "JOIN r\n");
    send_line(bob, "HELLO bob\nJOIN r\n");
    hub_conn_closed(bob);
    emit_n(pub, "r", 100);
    long q = hub_queued(hub, "bob");
    ck_assert_int_gt(q, 0);
    ck_assert_int_lt(q, 100);
    ck_assert_uint_eq(hub_stats(hub)->store_drops, (uint64_t)(100 - q));
    ck_assert_uint_eq(hub_stats(hub)->stored_events, (uint64_t)q);
    bob = open_conn();
    send_line(bob, "HELLO bob\n");
    const char *out = drain(bob);
    char want[64];
    snprintf(want, sizeof(want), "EVENT 100 r tick anon-1 99\n");
    ck_assert_ptr_nonnull(strstr(out, want)); /* the newest are the ones kept */
}
END_TEST

START_TEST(core_takeover)
{
    struct hub_conn *old = open_conn(), *pub = open_conn();
    send_line(pub, "JOIN r\n");
    send_line(old, "JOIN r\nHELLO carol\n"); /* rooms joined before HELLO carry over */
    ck_assert_str_eq(drain(old), "OK JOIN r\nOK HELLO carol 0\n");
    emit_n(pub, "r", 1);
    ck_assert_str_eq(drain(old), "EVENT 1 r tick anon-2 0\n");
    struct hub_conn *fresh = open_conn();
    send_line(fresh, "HELLO carol\n");
    ck_assert(!strncmp(drain(old), "ERR 409 ", 8));
    ck_assert(hub_conn_closing(old));
    /* sent on the old connection but never ACKed: delivered again */
    ck_assert_str_eq(drain(fresh), "OK HELLO carol 1\nEVENT 1 r tick anon-2 0\n");
    hub_conn_closed(old);
    emit_n(pub, "r", 1);
    ck_assert_str_eq(drain(fresh), "EVENT 2 r tick anon-2 0\n");
    ck_assert_uint_eq(hub_stats(hub)->takeovers, 1);
}
END_TEST

START_TEST(core_durable_table_evicts_oldest_offline)
{
    teardown();
    struct hub_config cfg;
    hub_config_init(&cfg);
    cfg.max_durable = 2;
    hub = hub_create(&cfg, NULL);
    struct hub_conn *a = open_conn(), *b = open_conn();
    send_line(a, "HELLO a\n");
    send_line(b, "HELLO b\n");
    struct hub_conn *c = open_conn();
    send_line(c, "HELLO c\n");
    ck_assert(!strncmp(drain(c), "ERR 503 ", 8)); /* both online: nobody to forget */
    hub_conn_closed(a);
    send_line(c, "HELLO c\n");
    ck_assert_str_eq(drain(c), "OK HELLO c 0\n");
    ck_assert_int_eq(hub_queued(hub, "a"), -1);
    ck_assert_uint_eq(hub_stats(hub)->durable_evicted, 1);
    ck_assert_uint_eq(hub_stats(hub)->durable, 2);
}
END_TEST

START_TEST(core_slow_reader_holds_emitter)
{
    teardown();
    setup_with(1000, 4096, 0);
    struct hub_conn *pub = open_conn(), *slow = open_conn(), *fast = open_conn();
    struct hub_conn *dslow = open_conn();
    send_line(pub, "JOIN r\n");
    send_line(slow, "JOIN r\n");
    send_line(fast, "JOIN r\n");
    send_line(dslow, "HELLO dee\nJOIN r\n");
    drain(slow);
    drain(fast);
    drain(dslow);
    char line[300];
    memset(line, 'p', sizeof(line));
    memcpy(line, "EMIT r ev ", 10);
    line[sizeof(line) - 1] = '\n';
    /* the anonymous slow reader holds the emitter back once it is half full: the hub
     * stops taking the emitter's lines (TCP's window would close on it) */
    int fast_events = 0, emitted = 0;
    while (emitted < 200 && hub_conn_input(pub, line, sizeof(line)) == sizeof(line)) {
        emitted++;
        drain(pub);
        fast_events += count_lines(drain(fast), "EVENT ");
        const void *d;
        ck_assert_uint_le(hub_conn_output(slow, &d), 4096); /* held to its bound */
        ck_assert_uint_le(hub_conn_output(dslow, &d), 4096);
    }
    ck_assert_int_lt(emitted, 200);
    ck_assert_uint_eq(hub_stats(hub)->emitters_paused, 1);
    ck_assert_int_eq(fast_events, emitted); /* the others got everything emitted */
    /* once the slow one reads, the emitter goes on; nobody lost an event */
    int slow_events = 0;
    for (int round = 0; round < 1000 && emitted < 200; round++) {
        slow_events += count_lines(drain(slow), "EVENT ");
        while (emitted < 200 && hub_conn_input(pub, line, sizeof(line)) == sizeof(line)) {
            emitted++;
            drain(pub);
            fast_events += count_lines(drain(fast), "EVENT ");
        }
    }
    slow_events += count_lines(drain(slow), "EVENT ");
    ck_assert_int_eq(emitted, 200);
    ck_assert_int_eq(fast_events, 200);
    ck_assert_int_eq(slow_events, 200);
    ck_assert_uint_eq(hub_stats(hub)->slow_drops, 0);
    ck_assert_uint_eq(hub_stats(hub)->slow_disconnects, 0);
    /* the durable one never held anybody back: what did not fit waits in its queue */
    ck_assert_int_eq(hub_queued(hub, "dee"), 200);
    ck_assert_int_eq(count_lines(drain(dslow), "EVENT "), 200);
    /* and a client that never reads its replies is not read either */
    static char many[6000];
    for (size_t i = 0; i < sizeof(many); i += 2)
        memcpy(many + i, "x\n", 2);
    size_t took = hub_conn_input(slow, many, sizeof(many));
    ck_assert_uint_lt(took, sizeof(many));
    const void *d;
    ck_assert_uint_le(hub_conn_output(slow, &d), 4096);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hub_proto");
    TCase *lines = tcase_create("lines");
    tcase_add_test(lines, line_basic_crlf_and_split);
    tcase_add_test(lines, line_lone_cr_and_nul_are_data);
    tcase_add_test(lines, line_limit_exact);
    tcase_add_test(lines, line_megabyte_without_newline);
    suite_add_tcase(s, lines);
    TCase *parser = tcase_create("parser");
    tcase_add_test(parser, parse_commands);
    tcase_add_test(parser, parse_errors);
    tcase_add_test(parser, parse_names_and_reserved);
    tcase_add_test(parser, scrub_controls);
    tcase_add_test(parser, format_event_line);
    suite_add_tcase(s, parser);
    TCase *core = tcase_create("core");
    tcase_add_checked_fixture(core, setup, teardown);
    tcase_add_test(core, core_room_broadcast);
    tcase_add_test(core, core_errors_keep_connection);
    tcase_add_test(core, core_durable_replay_and_ack);
    tcase_add_test(core, core_queue_overflow_drops_oldest);
    tcase_add_test(core, core_store_budget);
    tcase_add_test(core, core_takeover);
    tcase_add_test(core, core_durable_table_evicts_oldest_offline);
    tcase_add_test(core, core_slow_reader_holds_emitter);
    suite_add_tcase(s, core);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
