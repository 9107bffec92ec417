/* hub_proto.h - the hub's line protocol as pure functions: no sockets, no state beyond
 * what the caller hands in, so every hostile input can be tried in a unit test.
 *
 *   bytes --hub_line_feed--> one line --hub_parse--> struct hub_cmd --> the hub (hub.c)
 *   payload --hub_scrub--> clean payload --hub_format_event--> "EVENT ...\n"
 *
 * The protocol itself (what each command means) is in docs/chapters/08-hub.md.
 */
#ifndef TAPIR_HUB_PROTO_H
#define TAPIR_HUB_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A line is at most HUB_LINE_MAX bytes before its "\n" (a "\r" right before the "\n" is
 * not counted: it is not part of the line). */
#define HUB_LINE_MAX 1024
/* Room, event and client-id names: 1 to HUB_NAME_MAX of [A-Za-z0-9_.-]. */
#define HUB_NAME_MAX 64
/* The longest line the hub sends: an EVENT carries a seq and a sender-id more than the
 * EMIT it came from ("EVENT" + 20-digit seq + 64-byte sender + spaces + "\n"). */
#define HUB_OUT_LINE_MAX (HUB_LINE_MAX + 96)
/* The longest reply to a command (OK ..., ERR ...): never carries a payload. */
#define HUB_REPLY_MAX 192

/* Error codes in "ERR <code> <text>", borrowed from HTTP so they read at a glance. */
enum hub_err {
    HUB_ERR_SYNTAX = 400,    /* unknown command, wrong arguments, bad name or number */
    HUB_ERR_FORBIDDEN = 403, /* not a member of the room, ACK without HELLO */
    HUB_ERR_CONFLICT = 409,  /* a second HELLO; the id connected elsewhere */
    HUB_ERR_TOO_LONG = 413,  /* a line over HUB_LINE_MAX */
    HUB_ERR_RESERVED = 422,  /* a reserved event name */
    HUB_ERR_TOO_MANY = 429,  /* this client's room limit */
    HUB_ERR_FULL = 503,      /* the hub's own limits (rooms, clients, durable ids) */
};

/* ---- reading lines out of a byte stream, in bounded memory ---- */

struct hub_line_reader {
    char buf[HUB_LINE_MAX + 1]; /* +1: a "\r" that may turn out to precede "\n" */
    size_t len;
    bool discarding; /* inside an over-long line: dropping bytes up to the next "\n" */
};

enum hub_line_status {
    HUB_LINE_NEED_MORE, /* every byte was taken; no complete line yet */
    HUB_LINE_READY,     /* *line / *line_len hold one line, without "\r\n" */
    HUB_LINE_TOO_LONG,  /* the line passed HUB_LINE_MAX: report it; the rest is dropped */
};

void hub_line_init(struct hub_line_reader *r);
/* Take bytes from data[0..len) until a line completes, an over-long line is detected or
 * the data runs out; *used says how many were taken. Call again with the rest. A line
 * returned by HUB_LINE_READY stays valid (and writable) until the next call. */
enum hub_line_status hub_line_feed(struct hub_line_reader *r, const uint8_t *data, size_t len,
                                   size_t *used, char **line, size_t *line_len);

/* ---- parsing one line into a command ---- */

enum hub_verb { HUB_NONE, HUB_HELLO, HUB_JOIN, HUB_LEAVE, HUB_EMIT, HUB_ACK, HUB_QUIT };

struct hub_span {
    char *p; /* points into the line; not NUL-terminated */
    size_t len;
};

struct hub_cmd {
    enum hub_verb verb;   /* HUB_NONE: an empty line, which is ignored */
    struct hub_span name; /* HELLO client-id, JOIN/LEAVE/EMIT room */
    struct hub_span event;
    struct hub_span payload; /* EMIT: everything after the event name, not yet scrubbed */
    uint64_t seq;            /* ACK */
};

/* Parse one line. Returns 0, or an enum hub_err with *why set to a short explanation. */
int hub_parse(char *line, size_t len, struct hub_cmd *cmd, const char **why);

/* 1-64 bytes of [A-Za-z0-9_.-]. */
bool hub_name_ok(const char *p, size_t len);
/* One of the names an EventEmitter / socket.io keeps for itself. */
bool hub_event_reserved(const char *p, size_t len);

/* ---- scrubbing and formatting ---- */

/* Copy `in` to `out` (at least len bytes) without control characters: C0 (0x00-0x1f)
 * except tab, DEL (0x7f), and the C1 controls U+0080-U+009F as UTF-8 encodes them
 * (0xc2 0x80-0x9f). Returns the new length. Other bytes pass unchanged. */
size_t hub_scrub(char *out, const char *in, size_t len);

/* "EVENT <seq> <room> <event> <sender> <payload>\n" into buf (HUB_OUT_LINE_MAX bytes);
 * returns its length, or 0 if it does not fit. An empty payload leaves no trailing space. */
size_t hub_format_event(char *buf, size_t size, uint64_t seq, const struct hub_span *room,
                        const struct hub_span *event, const char *sender,
                        const struct hub_span *payload);

#endif
