/* hub_proto.c - the hub's line protocol: reading lines, parsing commands, scrubbing
 * payloads, formatting events. Pure functions over caller-owned memory; hub.c holds the
 * state (rooms, clients, queues) and the sockets.
 *
 * Everything arriving here comes from the network and may be hostile: NUL bytes, a lone
 * "\r", a megabyte without a newline, names full of escape sequences. Each function
 * looks only at the (pointer, length) it is given, never relies on a terminating NUL, and
 * never holds more than one line (HUB_LINE_MAX + 1 bytes) per connection.
 */
#include "hub_proto.h"

#include <stdio.h>
#include <string.h>

/* ---- lines ---- */

void hub_line_init(struct hub_line_reader *r)
{
    r->len = 0;
    r->discarding = false;
}

enum hub_line_status hub_line_feed(struct hub_line_reader *r, const uint8_t *data, size_t len,
                                   size_t *used, char **line, size_t *line_len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = data[i++];
        if (r->discarding) {
            /* The over-long line was reported when it passed the limit; drop the rest of
             * it here, byte by byte, so memory stays at one line however long it goes. */
            if (c == '\n')
                r->discarding = false;
            continue;
        }
        if (c == '\n') {
            size_t n = r->len;
            r->len = 0;
            if (n > 0 && r->buf[n - 1] == '\r')
                n--; /* "\r\n" ends a line as "\n" does (telnet, Windows nc) */
            *used = i;
            if (n > HUB_LINE_MAX)
                return HUB_LINE_TOO_LONG;
            *line = r->buf;
            *line_len = n;
            return HUB_LINE_READY;
        }
        if (r->len == sizeof(r->buf)) {
            /* HUB_LINE_MAX + 1 bytes and still no "\n": too long whatever comes next. */
            r->len = 0;
            r->discarding = true;
            *used = i;
            return HUB_LINE_TOO_LONG;
        }
        r->buf[r->len++] = (char)c;
    }
    *used = i;
    return HUB_LINE_NEED_MORE;
}

/* ---- names ---- */

static bool name_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

bool hub_name_ok(const char *p, size_t len)
{
    if (len < 1 || len > HUB_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!name_char_ok((unsigned char)p[i]))
            return false;
    return true;
}

static bool span_is(const char *p, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(p, word, len) == 0;
}

bool hub_event_reserved(const char *p, size_t len)
{
    /* Node's EventEmitter and socket.io fire these themselves; a client that could emit
     * them could fake a disconnect or a listener change on every other client. */
    static const char *const reserved[] = {
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    };
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (span_is(p, len, reserved[i]))
            return true;
    return false;
}

/* ---- parsing ---- */

/* A cursor over one line: fields are separated by one or more spaces. */
struct cursor {
    char *p, *end;
};

static void skip_spaces(struct cursor *c)
{
    while (c->p < c->end && *c->p == ' ')
        c->p++;
}

/* The next field, or an empty span at the end of the line. */
static struct hub_span next_field(struct cursor *c)
{
    skip_spaces(c);
    struct hub_span s = {c->p, 0};
    while (c->p < c->end && *c->p != ' ')
        c->p++;
    s.len = (size_t)(c->p - s.p);
    return s;
}

static bool at_end(struct cursor *c)
{
    skip_spaces(c);
    return c->p == c->end;
}

static bool word_is(const struct hub_span *s, const char *word)
{
    /* Commands are matched without regard to case, so `join lobby` typed by hand works. */
    if (strlen(word) != s->len)
        return false;
    for (size_t i = 0; i < s->len; i++) {
        char ch = s->p[i];
        if (ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        if (ch != word[i])
            return false;
    }
    return true;
}

static bool parse_seq(const struct hub_span *s, uint64_t *out)
{
    if (s->len == 0 || s->len > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < s->len; i++) {
        unsigned char d = (unsigned char)s->p[i];
        if (d < '0' || d > '9')
            return false;
        if (v > (UINT64_MAX - (d - '0')) / 10)
            return false; /* would overflow */
        v = v * 10 + (d - '0');
    }
    *out = v;
    return true;
}

/* A command with one name argument and nothing after it (HELLO, JOIN, LEAVE). */
static int parse_one_name(struct cursor *c, struct hub_cmd *cmd, const char **why)
{
    cmd->name = next_field(c);
    if (cmd->name.len == 0) {
        *why = "missing name";
        return HUB_ERR_SYNTAX;
    }
    if (!at_end(c)) {
        *why = "too many arguments";
        return HUB_ERR_SYNTAX;
    }
    if (!hub_name_ok(cmd->name.p, cmd->name.len)) {
        *why = "bad name (1-64 of A-Z a-z 0-9 _ . -)";
        return HUB_ERR_SYNTAX;
    }
    return 0;
}

static int parse_emit(struct cursor *c, struct hub_cmd *cmd, const char **why)
{
    cmd->name = next_field(c);
    cmd->event = next_field(c);
    if (cmd->event.len == 0) {
        *why = "usage: EMIT <room> <event> <payload...>";
        return HUB_ERR_SYNTAX;
    }
    if (!hub_name_ok(cmd->name.p, cmd->name.len)) {
        *why = "bad room name (1-64 of A-Z a-z 0-9 _ . -)";
        return HUB_ERR_SYNTAX;
    }
    if (!hub_name_ok(cmd->event.p, cmd->event.len)) {
        *why = "bad event name (1-64 of A-Z a-z 0-9 _ . -)";
        return HUB_ERR_SYNTAX;
    }
    if (hub_event_reserved(cmd->event.p, cmd->event.len)) {
        *why = "reserved event name";
        return HUB_ERR_RESERVED;
    }
    skip_spaces(c); /* the payload is the rest of the line, its inner spaces kept */
    cmd->payload.p = c->p;
    cmd->payload.len = (size_t)(c->end - c->p);
    return 0;
}

int hub_parse(char *line, size_t len, struct hub_cmd *cmd, const char **why)
{
    memset(cmd, 0, sizeof(*cmd));
    struct cursor c = {line, line + len};
    struct hub_span verb = next_field(&c);
    *why = "";
    if (verb.len == 0)
        return 0; /* an empty line (or only spaces): nothing to do, no reply */

    if (word_is(&verb, "HELLO")) {
        cmd->verb = HUB_HELLO;
        int err = parse_one_name(&c, cmd, why);
        if (!err && cmd->name.len >= 5 && !memcmp(cmd->name.p, "anon-", 5)) {
            *why = "client-ids anon-* are the hub's names for anonymous clients";
            err = HUB_ERR_SYNTAX;
        }
        return err;
    }
    if (word_is(&verb, "JOIN")) {
        cmd->verb = HUB_JOIN;
        return parse_one_name(&c, cmd, why);
    }
    if (word_is(&verb, "LEAVE")) {
        cmd->verb = HUB_LEAVE;
        return parse_one_name(&c, cmd, why);
    }
    if (word_is(&verb, "EMIT")) {
        cmd->verb = HUB_EMIT;
        return parse_emit(&c, cmd, why);
    }
    if (word_is(&verb, "ACK")) {
        cmd->verb = HUB_ACK;
        struct hub_span n = next_field(&c);
        if (!parse_seq(&n, &cmd->seq) || !at_end(&c)) {
            *why = "usage: ACK <seq>";
            return HUB_ERR_SYNTAX;
        }
        return 0;
    }
    if (word_is(&verb, "QUIT")) {
        cmd->verb = HUB_QUIT;
        if (!at_end(&c)) {
            *why = "QUIT takes no arguments";
            return HUB_ERR_SYNTAX;
        }
        return 0;
    }
    *why = "unknown command (HELLO JOIN LEAVE EMIT ACK QUIT)";
    return HUB_ERR_SYNTAX;
}

/* ---- scrubbing and formatting ---- */

size_t hub_scrub(char *out, const char *in, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            continue; /* C0 controls and DEL: escape sequences, NULs, stray "\r" */
        if (c == 0xc2 && i + 1 < len && (unsigned char)in[i + 1] >= 0x80 &&
            (unsigned char)in[i + 1] <= 0x9f) {
            i++; /* a C1 control in UTF-8 (0x9b is CSI to many terminals) */
            continue;
        }
        out[n++] = (char)c;
    }
    return n;
}

size_t hub_format_event(char *buf, size_t size, uint64_t seq, const struct hub_span *room,
                        const struct hub_span *event, const char *sender,
                        const struct hub_span *payload)
{
    int head = snprintf(buf, size, "EVENT %llu %.*s %.*s %s", (unsigned long long)seq,
                        (int)room->len, room->p, (int)event->len, event->p, sender);
    if (head < 0 || (size_t)head >= size)
        return 0;
    size_t n = (size_t)head;
    size_t need = n + (payload->len ? 1 + payload->len : 0) + 1;
    if (need > size)
        return 0;
    if (payload->len) {
        buf[n++] = ' ';
        memcpy(buf + n, payload->p, payload->len);
        n += payload->len;
    }
    buf[n++] = '\n';
    return n;
}
