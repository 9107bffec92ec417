/* test_sim_scenarios.c - `tapir sim SCENARIO` (apps/sim.c) as a student runs it: every
 * scenario prints the same bytes on every run, exits 0, and shows the lines its lesson
 * quotes (the state changes, the retransmission, the errors, the hub's EVENT).
 *
 * Each run is sim_main() in a child process with stdout and stderr in temporary files, as
 * tests/sim/test_link.c does for arp and ping.
 */
#define _GNU_SOURCE /* memmem */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../apps/apps.h"
#include "sim_cli.h"

/* ---- running `tapir sim` ---- */

static struct cli_run r1, r2; /* large: not on the stack */

/* ---- reading the output ---- */

/* The first line of `text` holding every one of the (up to three) strings, or NULL. Lines
 * are not copied: the result points into text. */
static const char *line_with(const char *text, const char *a, const char *b, const char *c)
{
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *need[3] = {a, b, c};
        bool all = true;
        for (int i = 0; i < 3 && all; i++) {
            if (!need[i])
                continue;
            const char *hit = memmem(line, len, need[i], strlen(need[i]));
            all = hit != NULL;
        }
        if (all)
            return line;
        if (!end)
            break;
        line = end + 1;
    }
    return NULL;
}

static const char *must_have(const char *text, const char *a, const char *b, const char *c)
{
    const char *line = line_with(text, a, b, c);
    ck_assert_msg(line, "no line with '%s'%s%s%s%s", a, b ? " and '" : "", b ? b : "",
                  c ? "' and '" : "", c ? c : "");
    return line;
}

static unsigned count_lines(const char *text, const char *needle)
{
    unsigned n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Line x comes before line y in the output. */
#define assert_before(x, y) ck_assert_msg((x) < (y), "'%.70s' is not before '%.70s'", (x), (y))

/* "[   2.111700] ..." -> microseconds */
static uint64_t stamp_us(const char *line)
{
    unsigned long s, us;
    ck_assert_int_eq(sscanf(line, "[%lu.%lu]", &s, &us), 2);
    return (uint64_t)s * 1000000 + us;
}

/* The value after "key" in the line (e.g. "seq="). */
static unsigned long value_after(const char *line, const char *key)
{
    const char *p = strstr(line, key);
    ck_assert_ptr_nonnull(p);
    return strtoul(p + strlen(key), NULL, 10);
}

/* ---- every scenario: the same bytes twice, exit 0, its key lines ---- */

struct expect {
    const char *name;
    const char *lines[12][3]; /* each: a line holding all of these (NULL-terminated list) */
};

#define TCP_A "] L4 tcp  A: "
#define TCP_B "] L4 tcp  B: "

static const struct expect expects[] = {
    {"arp", {{"A resolved 10.0.0.2 in ", NULL}, {"] L2 arp  A: who-has 10.0.0.2", NULL}}},
    {"ping", {{"3 packets transmitted, 3 received, 0% packet loss", NULL}}},
    {"fragments",
     {{"PING 10.0.0.2 (10.0.0.2) 3000(3028) bytes of data.", NULL},
      {"] L3 ip   A: tx 10.0.0.1 > 10.0.0.2 proto=1 len=1500 id=", " MF off=1480"},
      {"] L3 ip   A: tx 10.0.0.1 > 10.0.0.2 proto=1 len=68 id=", " off=2960"},
      {"] L3 ip   B: reasm 10.0.0.1 > 10.0.0.2 ", ": complete, 3028 bytes"},
      {"] L3 ip   A: reasm 10.0.0.2 > 10.0.0.1 ", ": complete, 3028 bytes"},
      {"3008 bytes from 10.0.0.2: icmp_seq=1 ttl=64", NULL},
      {"1 packets transmitted, 1 received, 0% packet loss", NULL}}},
    {"handshake",
     {{"] L7 app  B: listen() on port 9", NULL},
      {"] L7 app  A: connect() -> 10.0.0.2:9", NULL},
      {TCP_A, "CLOSED -> SYN-SENT", NULL},
      {TCP_A, " SYN seq=", " mss=1460"},
      {TCP_B, "SYN seq=", "| LISTEN -> SYN-RECEIVED"},
      {TCP_B, " SYN|ACK seq=", NULL},
      {TCP_A, "SYN|ACK seq=", "| SYN-SENT -> ESTABLISHED"},
      {TCP_B, " ACK seq=", "| SYN-RECEIVED -> ESTABLISHED"},
      {"] L7 app  A: on_connect: connected", NULL},
      {"] L7 app  B: on_accept: accept() -> a connection from 10.0.0.1:", NULL},
      {"A: connected (ESTABLISHED)", NULL},
      {"B: accepted (ESTABLISHED)", NULL}}},
    {"transfer",
     {{"] L7 app  A: send(20000 bytes) -> 20000 queued", NULL},
      {TCP_A, " len=1448", NULL},
      {TCP_A, "FIN|PSH|ACK", " len=1176"},
      {"] L7 app  B: recv() -> ", "(20000 so far)", NULL},
      {"] L7 app  B: recv() -> 0: end of stream", NULL},
      {TCP_A, "| FIN-WAIT-2 -> TIME-WAIT", NULL},
      {TCP_B, "| LAST-ACK -> CLOSED", NULL},
      {TCP_A, "TIME-WAIT -> CLOSED", NULL},
      {"B received 20000 of 20000 bytes, byte-exact", NULL},
      {"A: ", " segments sent, ", " 0 retransmitted"}}},
    {"loss",
     {{"] wire    drops A's data segment 3: seq=2897 (raw ", ") len=1448", NULL},
      {"] wire    A sends seq=2897 (raw ", ") len=1448 again: ", NULL},
      {"the wire dropped 1 segment (relative seq 2897); A sent it again 1 time", NULL},
      {"B received 20000 of 20000 bytes, byte-exact", NULL},
      {", 1 dropped on purpose", NULL}}},
    {"close",
     {{"] L7 app  A: close()", NULL},
      {TCP_A, "ESTABLISHED -> FIN-WAIT-1", NULL},
      {TCP_B, "FIN|ACK", "| ESTABLISHED -> CLOSE-WAIT"},
      {TCP_A, "| FIN-WAIT-1 -> FIN-WAIT-2", NULL},
      {"] L7 app  B: recv() -> 0: end of stream", NULL},
      {"] L7 app  B: close()", NULL},
      {TCP_B, "CLOSE-WAIT -> LAST-ACK", NULL},
      {TCP_A, "| FIN-WAIT-2 -> TIME-WAIT", NULL},
      {TCP_B, "| LAST-ACK -> CLOSED", NULL},
      {TCP_A, "TIME-WAIT -> CLOSED", NULL}}},
    {"simultaneous-close",
     {{TCP_A, "| FIN-WAIT-1 -> CLOSING", NULL},
      {TCP_B, "| FIN-WAIT-1 -> CLOSING", NULL},
      {TCP_A, "| CLOSING -> TIME-WAIT", NULL},
      {TCP_B, "| CLOSING -> TIME-WAIT", NULL},
      {TCP_A, "TIME-WAIT -> CLOSED", NULL},
      {TCP_B, "TIME-WAIT -> CLOSED", NULL}}},
    {"reset",
     {{"] L7 app  A: connect() -> 10.0.0.2:7", NULL},
      {TCP_B, "10.0.0.2:7 > 10.0.0.1:", " RST|ACK seq=0 ack="},
      {TCP_A, "RST|ACK", "| SYN-SENT -> CLOSED"},
      {"] L7 app  A: on_error: -ECONNREFUSED (Connection refused)", NULL},
      {"] L7 app  A: abort(): close at once with RST", NULL},
      {TCP_B, "RST|ACK", "| ESTABLISHED -> CLOSED"},
      {"] L7 app  B: on_error: -ECONNRESET (Connection reset by peer)", NULL},
      {"1. A's connect() to port 7: -ECONNREFUSED", NULL},
      {"2. B's connection after A's abort(): -ECONNRESET", NULL}}},
    {"hub",
     {{"] L7 app  A: alice -> HELLO alice", NULL},
      {"] L7 app  A: alice <- OK HELLO alice 0", NULL},
      {"] L7 app  A: carol <- OK JOIN lobby", NULL},
      {"] L7 app  A: alice -> EMIT lobby chat hello from alice", NULL},
      {"] L7 app  A: alice <- OK EMIT 1", NULL},
      {"] L7 app  A: bob   <- EVENT 1 lobby chat alice hello from alice", NULL},
      {"] L7 app  A: carol <- EVENT 1 lobby chat alice hello from alice", NULL},
      {"] L7 app  B: hub: alice EMIT lobby chat seq=1 to 2 other members", NULL},
      {"] L7 app  A: bob   <- OK BYE", NULL},
      {TCP_B, "7000 > 10.0.0.1:", "TIME-WAIT -> CLOSED"},
      {"hub: 3 connections, 1 event emitted, 2 delivered, 2 ACKs, 0 errors", NULL}}},
};
#define N_EXPECTS (sizeof(expects) / sizeof(expects[0]))

START_TEST(test_scenario_repeatable)
{
    const struct expect *e = &expects[_i];
    const char *const args[] = {e->name, NULL};
    run_cli(&r1, args);
    run_cli(&r2, args);
    ck_assert_msg(r1.status == 0, "%s: exit %d; stderr: %s", e->name, r1.status, r1.err);
    ck_assert_uint_eq(r1.err_len, 0);
    ck_assert_uint_eq(r1.out_len, r2.out_len);
    ck_assert_mem_eq(r1.out, r2.out, r1.out_len);

    char head[64];
    snprintf(head, sizeof(head), "# tapir sim %s: seed 1, loss 0%%;", e->name);
    ck_assert(!strncmp(r1.out, head, strlen(head)));
    ck_assert_ptr_nonnull(strstr(r1.out, "\nwire: ")); /* and it ran to the end */
    ck_assert_int_eq(r1.out[r1.out_len - 1], '\n');
    for (size_t i = 0; i < 12 && e->lines[i][0]; i++)
        must_have(r1.out, e->lines[i][0], e->lines[i][1], e->lines[i][2]);
}
END_TEST

/* ---- what the TCP scenarios show, in more detail ---- */

/* The default trace is TCP and the scenario's own lines: nothing from layers 2 and 3. */
START_TEST(test_focused_trace_and_all)
{
    const char *const plain[] = {"handshake", NULL};
    run_cli(&r1, plain);
    ck_assert_ptr_null(strstr(r1.out, "] L2 "));
    ck_assert_ptr_null(strstr(r1.out, "] L3 "));
    ck_assert_ptr_null(strstr(r1.out, "] L5 "));
    /* 3 segments, each traced when sent and when received, and the two state changes that
     * user calls made (listen, connect): the others join the line of their segment */
    ck_assert_uint_eq(count_lines(r1.out, "] L4 tcp  "), 8);

    /* --trace all adds every layer; the scenario's story stays the same */
    const char *const all[] = {"handshake", "--trace", "all", NULL};
    run_cli(&r2, all);
    ck_assert_int_eq(r2.status, 0);
    must_have(r2.out, "] L2 arp  A: who-has 10.0.0.2 tell 10.0.0.1", NULL, NULL);
    must_have(r2.out, "] L3 ip   B: rx 10.0.0.1 > 10.0.0.2 proto=6", NULL, NULL);
    must_have(r2.out, "] L5 sock A: connected", NULL, NULL);
    must_have(r2.out, TCP_A, "| SYN-SENT -> ESTABLISHED", NULL);
    ck_assert_uint_eq(count_lines(r2.out, "] L4 tcp  "), 8);
    ck_assert_uint_eq(count_lines(r2.out, "] L7 app  "), count_lines(r1.out, "] L7 app  "));

    /* --trace none leaves the story and the summary */
    const char *const none[] = {"close", "--trace", "none", NULL};
    run_cli(&r2, none);
    ck_assert_int_eq(r2.status, 0);
    ck_assert_ptr_null(strstr(r2.out, "] L4 "));
    must_have(r2.out, "] L7 app  A: close()", NULL, NULL);
    must_have(r2.out, "--- close summary ---", NULL, NULL);
}
END_TEST

/* The handshake's numbers agree with each other: ACKs are ISN+1 of the other side. By
 * default the trace shows them relative to each side's ISN, as tshark does. */
START_TEST(test_handshake_numbers)
{
    const char *const rel[] = {"handshake", NULL};
    run_cli(&r1, rel);
    must_have(r1.out, TCP_A "tx 10.0.0.1:", " SYN seq=0 win=", NULL);
    must_have(r1.out, TCP_B "rx 10.0.0.1:", " SYN seq=0 win=", "| LISTEN -> SYN-RECEIVED");
    must_have(r1.out, TCP_B "tx 10.0.0.2:", " SYN|ACK seq=0 ack=1 win=", NULL);
    must_have(r1.out, TCP_A "rx 10.0.0.2:", " SYN|ACK seq=0 ack=1 win=", NULL);
    must_have(r1.out, TCP_A "tx 10.0.0.1:", " ACK seq=1 ack=1 win=", NULL);
    must_have(r1.out,
              TCP_B "rx 10.0.0.1:", " ACK seq=1 ack=1 win=", "| SYN-RECEIVED -> ESTABLISHED");

    const char *const args[] = {"handshake", "--trace-absolute", NULL};
    run_cli(&r1, args);
    const char *syn = must_have(r1.out, TCP_A, " SYN seq=", NULL);
    const char *synack = must_have(r1.out, TCP_B, " SYN|ACK seq=", NULL);
    const char *ack = must_have(r1.out, TCP_B, " ACK seq=", "| SYN-RECEIVED -> ESTABLISHED");
    unsigned long isn_a = value_after(syn, "seq="), isn_b = value_after(synack, "seq=");
    ck_assert_uint_eq(value_after(synack, "ack="), (isn_a + 1) & 0xffffffffu);
    ck_assert_uint_eq(value_after(ack, "seq="), (isn_a + 1) & 0xffffffffu);
    ck_assert_uint_eq(value_after(ack, "ack="), (isn_b + 1) & 0xffffffffu);
    char isns[80];
    snprintf(isns, sizeof(isns), "ISNs: A %lu, B %lu;", isn_a, isn_b);
    must_have(r1.out, isns, NULL, NULL);
    /* order: the SYN, then the SYN-ACK, then the ACK */
    assert_before(syn, synack);
    assert_before(synack, ack);

    /* another seed, other ports and ISNs */
    const char *const seed[] = {"handshake", "--seed", "9", "--trace-absolute", NULL};
    run_cli(&r2, seed);
    ck_assert_int_eq(r2.status, 0);
    ck_assert_ptr_null(strstr(r2.out, isns));
}
END_TEST

/* The dropped segment is the one that comes again, and it comes after the drop. */
START_TEST(test_loss_retransmits_the_dropped_segment)
{
    const char *const args[] = {"loss", NULL};
    run_cli(&r1, args);
    const char *drop = must_have(r1.out, "] wire    drops A's data segment 3: seq=", NULL, NULL);
    const char *again = must_have(r1.out, "] wire    A sends seq=", " again: ", NULL);
    assert_before(drop, again);
    unsigned long seq = value_after(drop, "seq=");
    ck_assert_uint_eq(value_after(again, "seq="), seq);
    ck_assert_uint_eq(count_lines(r1.out, " again: "), 1);
    /* A's trace shows that segment twice: the copy the wire dropped, and the retransmission */
    char seg[64];
    snprintf(seg, sizeof(seg), "ACK seq=%lu ack=", seq);
    const char *first = must_have(r1.out, TCP_A "tx 10.0.0.1:", seg, " len=1448");
    const char *second = line_with(strchr(first, '\n') + 1, TCP_A "tx 10.0.0.1:", seg, " len=1448");
    ck_assert_ptr_nonnull(second);
    assert_before(drop, second);
    /* the retransmission has a line of its own, just before the segment, saying why */
    char rtx[64];
    snprintf(rtx, sizeof(rtx), " retransmit seq=%lu len=1448: ", seq);
    const char *why = must_have(r1.out, TCP_A "10.0.0.1:", rtx, "; RTO ");
    ck_assert_uint_eq(count_lines(r1.out, " retransmit seq="), 1);
    assert_before(drop, why);
    ck_assert_ptr_eq(strchr(why, '\n') + 1, second);
    /* the counters agree with the trace: every segment A sent is a line, one never arrived */
    const char *a_sum = must_have(r1.out, "A: ", " segments sent, ", " 1 retransmitted");
    const char *b_sum = must_have(r1.out, "B: ", " segments sent, ", " 0 retransmitted");
    unsigned long a_sent = strtoul(a_sum + 3, NULL, 10);
    ck_assert_uint_eq(count_lines(r1.out, TCP_A "tx 10.0.0.1:"), a_sent);
    /* connect, close, TIME-WAIT's end, and the retransmission's own line */
    ck_assert_uint_eq(count_lines(r1.out, TCP_A "10.0.0.1:"), 4);
    ck_assert_uint_eq(value_after(b_sum, "sent, "), a_sent - 1);
    const char *how = strstr(again, "again: ");
    /* SACK (on by default): the scoreboard shows the hole lost, no timeout */
    ck_assert(!strncmp(how, "again: SACK recovery", 20));
    must_have(r1.out, "A: 1 fast retransmit (1 with SACK), 0 retransmission timeouts", NULL, NULL);
}
END_TEST

/* The close: the right side goes through the right states, and TIME-WAIT lasts 2*MSL. */
/* conformance: MUST-13 */
START_TEST(test_close_states_and_time_wait)
{
    const char *const args[] = {"close", NULL};
    run_cli(&r1, args);
    const char *fw1 = must_have(r1.out, TCP_A, "ESTABLISHED -> FIN-WAIT-1", NULL);
    const char *cw = must_have(r1.out, TCP_B, "ESTABLISHED -> CLOSE-WAIT", NULL);
    const char *fw2 = must_have(r1.out, TCP_A, "FIN-WAIT-1 -> FIN-WAIT-2", NULL);
    const char *la = must_have(r1.out, TCP_B, "CLOSE-WAIT -> LAST-ACK", NULL);
    const char *tw = must_have(r1.out, TCP_A, "FIN-WAIT-2 -> TIME-WAIT", NULL);
    const char *closed_b = must_have(r1.out, TCP_B, "LAST-ACK -> CLOSED", NULL);
    const char *closed_a = must_have(r1.out, TCP_A, "TIME-WAIT -> CLOSED", NULL);
    assert_before(fw1, cw);
    assert_before(cw, fw2);
    assert_before(fw2, la);
    assert_before(la, tw);
    assert_before(tw, closed_b);
    assert_before(closed_b, closed_a);
    /* B's application closed 100 ms after it read the end of stream */
    const char *eof = must_have(r1.out, "] L7 app  B: recv() -> 0: end of stream", NULL, NULL);
    const char *bclose = must_have(r1.out, "] L7 app  B: close()", NULL, NULL);
    ck_assert_uint_eq(stamp_us(bclose) - stamp_us(eof), 100000);
    /* 2*MSL with the sim's MSL of 1 s */
    ck_assert_uint_eq(stamp_us(closed_a) - stamp_us(tw), 2000000);
    /* never on the wrong side, never CLOSING */
    ck_assert_ptr_null(line_with(r1.out, TCP_B, "TIME-WAIT", NULL));
    ck_assert_ptr_null(line_with(r1.out, TCP_A, "CLOSE-WAIT", NULL));
    ck_assert_ptr_null(strstr(r1.out, "CLOSING"));
}
END_TEST

START_TEST(test_simultaneous_close_both_sides)
{
    const char *const args[] = {"simultaneous-close", NULL};
    run_cli(&r1, args);
    /* both FINs leave before either arrives */
    const char *fin_a = must_have(r1.out, TCP_A "tx 10.0.0.1:", " FIN|ACK ", NULL);
    const char *fin_b = must_have(r1.out, TCP_B "tx 10.0.0.2:", " FIN|ACK ", NULL);
    const char *closing_a = must_have(r1.out, TCP_A, "FIN-WAIT-1 -> CLOSING", NULL);
    ck_assert_uint_eq(stamp_us(fin_a), stamp_us(fin_b));
    assert_before(fin_b, closing_a);
    const char *tw_a = must_have(r1.out, TCP_A, "CLOSING -> TIME-WAIT", NULL);
    const char *tw_b = must_have(r1.out, TCP_B, "CLOSING -> TIME-WAIT", NULL);
    ck_assert_uint_eq(
        stamp_us(must_have(r1.out, TCP_A, "TIME-WAIT -> CLOSED", NULL)) - stamp_us(tw_a), 2000000);
    ck_assert_uint_eq(
        stamp_us(must_have(r1.out, TCP_B, "TIME-WAIT -> CLOSED", NULL)) - stamp_us(tw_b), 2000000);
    ck_assert_ptr_null(strstr(r1.out, "FIN-WAIT-2"));
    ck_assert_ptr_null(strstr(r1.out, "CLOSE-WAIT"));
    ck_assert_uint_eq(count_lines(r1.out, " FIN|ACK "), 4); /* each FIN sent and received */
}
END_TEST

/* ---- the list, and the options with the new scenarios ---- */

START_TEST(test_list_shows_all)
{
    const char *const args[] = {"--list", NULL};
    run_cli(&r1, args);
    ck_assert_int_eq(r1.status, 0);
    ck_assert_uint_eq(count_lines(r1.out, "\n"), N_EXPECTS);
    for (size_t i = 0; i < N_EXPECTS; i++) {
        char start[32];
        snprintf(start, sizeof(start), "%s ", expects[i].name);
        const char *line = must_have(r1.out, start, NULL, NULL);
        ck_assert(line == r1.out || line[-1] == '\n');
        ck_assert(!strncmp(line, start, strlen(start))); /* the name starts the line */
        ck_assert_uint_gt(strcspn(line, "\n"), 19 + 20); /* and a description follows */
    }
}
END_TEST

/* A lossy wire is just as repeatable, and TCP still gets everything across. */
START_TEST(test_transfer_over_lossy_wire)
{
    const char *const args[] = {"transfer", "--loss", "20", "--seed", "3", NULL};
    run_cli(&r1, args);
    run_cli(&r2, args);
    ck_assert_int_eq(r1.status, 0);
    ck_assert_uint_eq(r1.out_len, r2.out_len);
    ck_assert_mem_eq(r1.out, r2.out, r1.out_len);
    must_have(r1.out, "B received 20000 of 20000 bytes, byte-exact", NULL, NULL);
    const char *wire = must_have(r1.out, "wire: ", " lost", NULL);
    ck_assert_uint_gt(value_after(wire, "delivered, "), 0); /* frames were lost */
    must_have(r1.out, "A: ", " segments sent, ", " retransmitted");
    ck_assert_ptr_null(strstr(r1.out, "A: 0 retransmitted")); /* and TCP made up for them */
    /* every frame the wire lost is a line of its sender's, and every retransmission too */
    unsigned long lost = value_after(wire, "delivered, ");
    ck_assert_uint_eq(count_lines(r1.out, "] L1 link A: out lost len=") +
                          count_lines(r1.out, "] L1 link B: out lost len="),
                      lost);
    const char *a_sum = must_have(r1.out, "A: ", " segments sent, ", " retransmitted");
    const char *b_sum = must_have(r1.out, "B: ", " segments sent, ", " retransmitted");
    unsigned long resent = value_after(a_sum, "received, ") + value_after(b_sum, "received, ");
    ck_assert_uint_gt(resent, 0);
    ck_assert_uint_eq(count_lines(r1.out, " retransmit seq="), resent);
}
END_TEST

/* --pcap: a libpcap file of every frame A's interface saw, as many as A's counters say;
 * --stats: both stacks' counters on stderr. (tests/kernel/test_sim_pcap.sh reads the same
 * capture with tshark, as a user without root.) */
START_TEST(test_pcap_and_stats)
{
    char path[] = "/tmp/tapir-sim-pcap.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    const char *const args[] = {"transfer", "--loss", "10", "--pcap", path, "--stats", NULL};
    run_cli(&r1, args);
    ck_assert_int_eq(r1.status, 0);
    const char *a = must_have(r1.err, "==== A 10.0.0.1 ====", NULL, NULL);
    must_have(r1.err, "==== B 10.0.0.2 ====", NULL, NULL);
    unsigned long rx = value_after(strstr(a, "Ethernet (L2):"), "\n    ");
    unsigned long tx = value_after(strstr(a, " bytes received\n"), "\n    ");
    ck_assert_ptr_nonnull(strstr(a, " frames sent\n"));
    must_have(r1.err, "Wire (L1, seed 1, loss 10%):", NULL, NULL);

    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    uint8_t hdr[24], rec[16], frame[2048];
    ck_assert_uint_eq(fread(hdr, 1, sizeof(hdr), f), sizeof(hdr));
    ck_assert_uint_eq(hdr[0] | hdr[1] << 8 | hdr[2] << 16 | (uint32_t)hdr[3] << 24, 0xa1b2c3d4u);
    ck_assert_uint_eq(hdr[20], 1); /* LINKTYPE_ETHERNET */
    unsigned long frames = 0;
    while (fread(rec, 1, sizeof(rec), f) == sizeof(rec)) {
        uint32_t caplen = rec[8] | rec[9] << 8 | rec[10] << 16 | (uint32_t)rec[11] << 24;
        ck_assert_uint_le(caplen, 1514);
        ck_assert_uint_ge(caplen, 60);
        ck_assert_uint_eq(fread(frame, 1, caplen, f), caplen);
        frames++;
    }
    fclose(f);
    unlink(path);
    ck_assert_uint_eq(frames, rx + tx);
    ck_assert_uint_gt(frames, 20);
}
END_TEST

/* --drop picks the lost segments; --no-sack makes both stacks recover without SACK; a bad
 * list is a usage error. */
START_TEST(test_loss_drop_list_and_no_sack)
{
    const char *const sack[] = {"loss", "--drop", "3,5,7", "--trace", "none", NULL};
    run_cli(&r1, sack);
    ck_assert_int_eq(r1.status, 0);
    must_have(r1.out, "the wire dropped 3 segments (relative seq 2897, 5793, 8689)", NULL, NULL);
    ck_assert_uint_eq(count_lines(r1.out, " again: SACK recovery"), 3);
    const char *const nosack[] = {"loss", "--drop", "3,5,7", "--no-sack", "--trace", "none", NULL};
    run_cli(&r2, nosack);
    ck_assert_int_eq(r2.status, 0);
    must_have(r2.out, "# tapir sim loss: seed 1, loss 0%, no SACK;", NULL, NULL);
    ck_assert_uint_eq(count_lines(r2.out, " again: SACK recovery"), 0);
    must_have(r2.out, "A: 1 fast retransmit (0 with SACK), 0 retransmission timeouts", NULL, NULL);
    const char *const bad[] = {"loss", "--drop", "0", NULL};
    run_cli(&r1, bad);
    ck_assert_int_eq(r1.status, 2);
}
END_TEST

/* --html FILE: one page with the run's data in it (the browser side is tests/html/). The
 * loss run has one frame lost on the wire: in the data, one frame never arrived (-1). */
START_TEST(test_html_page)
{
    char path[] = "/tmp/tapir-sim-html.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    const char *const args[] = {"loss", "--html", path, NULL};
    run_cli(&r1, args);
    ck_assert_int_eq(r1.status, 0);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char page[1 << 20];
    size_t n = fread(page, 1, sizeof(page) - 1, f);
    fclose(f);
    unlink(path);
    page[n] = 0;
    ck_assert_ptr_null(strcasestr(page, "http")); /* nothing outside the file */
    const char *frames = strstr(page, "\"frames\":[");
    const char *notes = strstr(page, "\"notes\":[");
    ck_assert(frames && notes && frames < notes);
    unsigned rows = 0, lost = 0;
    for (const char *p = frames; p < notes; p++)
        if (p[0] == '\n' && p[1] == '[') {
            rows++;
            lost += strncmp(strchr(strchr(strchr(p, ',') + 1, ',') + 1, ',') + 1, "-1,", 3) == 0;
        }
    const char *wire = must_have(r1.out, "wire: ", " frames sent", NULL);
    ck_assert_uint_eq(rows, value_after(wire, "wire: "));
    ck_assert_uint_eq(lost, 1);
    ck_assert_ptr_nonnull(strstr(notes, "\"state\",\"tcp\",\"SYN-SENT\""));

    const char *const bad[] = {"handshake", "--html", "/nonexistent/dir/x.html", NULL};
    run_cli(&r1, bad);
    ck_assert_int_eq(r1.status, 1);
    ck_assert_ptr_nonnull(strstr(r1.err, "cannot write '/nonexistent/dir/x.html'"));
}
END_TEST

static Suite *scenarios_suite(void)
{
    Suite *s = suite_create("sim-scenarios");
    TCase *each = tcase_create("each");
    tcase_set_timeout(each, 60);
    tcase_add_loop_test(each, test_scenario_repeatable, 0, (int)N_EXPECTS);
    suite_add_tcase(s, each);

    TCase *tcp = tcase_create("tcp");
    tcase_set_timeout(tcp, 60);
    tcase_add_test(tcp, test_focused_trace_and_all);
    tcase_add_test(tcp, test_handshake_numbers);
    tcase_add_test(tcp, test_loss_retransmits_the_dropped_segment);
    tcase_add_test(tcp, test_close_states_and_time_wait);
    tcase_add_test(tcp, test_simultaneous_close_both_sides);
    suite_add_tcase(s, tcp);

    TCase *cli = tcase_create("cli");
    tcase_set_timeout(cli, 60);
    tcase_add_test(cli, test_list_shows_all);
    tcase_add_test(cli, test_transfer_over_lossy_wire);
    tcase_add_test(cli, test_loss_drop_list_and_no_sack);
    tcase_add_test(cli, test_html_page);
    tcase_add_test(cli, test_pcap_and_stats);
    suite_add_tcase(s, cli);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(scenarios_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
