/* tcp_impl.h - the inside of TCP, shared by tcp.c, tcp_input.c, tcp_output.c, tcp_cc.c.
 *
 *   tcp.c         the TCB: creating, finding, freeing; the user calls (OPEN, SEND, RECEIVE,
 *                 CLOSE, ABORT; RFC 9293 3.10.1-3.10.5); every state change (tcp_set_state)
 *   tcp_input.c   SEGMENT ARRIVES (RFC 9293 3.10.7), step by step
 *   tcp_output.c  building and sending segments; retransmission, persist, delayed-ACK and
 *                 TIME-WAIT timers (RFC 6298, RFC 1122 4.2.2.17, 4.2.3.2)
 *   tcp_cc.c      congestion control: slow start, congestion avoidance, fast retransmit,
 *                 NewReno fast recovery (RFC 5681, RFC 6582), limited transmit (RFC 3042),
 *                 SACK-based loss recovery (RFC 6675)
 *   tcp_sack.c    SACK (RFC 2018): the blocks we send, the scoreboard of what the peer holds,
 *                 pipe and the next hole to resend (RFC 6675)
 *   tcp_tlp.c     the tail loss probe (RFC 8985 7)
 *   tcp_seg.c     the header and options on the wire
 *   tcp_keepalive.c  keep-alive and the other per-connection settings (TTL, TOS, R2)
 *   tcp_urgent.c  urgent data as one out-of-band byte (RFC 9293 3.8.5, RFC 6093)
 *   tcp_syncookie.c  SYN cookies: a listener with a full backlog keeps no state (RFC 4987)
 */
#ifndef TAPIR_TCP_IMPL_H
#define TAPIR_TCP_IMPL_H

#include "stack_impl.h"
#include "tcp.h"
#include "tcp_seg.h"
#include "timer.h"

#include <stdbool.h>
#include <stdint.h>

/* ---- sequence numbers: 32-bit and wrapping (RFC 9293 3.4) ---- */

/* a < b, modulo 2^32: true when b is less than 2^31 ahead of a */
static inline bool seq_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}
static inline bool seq_leq(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) <= 0;
}
static inline bool seq_gt(uint32_t a, uint32_t b)
{
    return seq_lt(b, a);
}
static inline bool seq_geq(uint32_t a, uint32_t b)
{
    return seq_leq(b, a);
}
/* lo <= x <= hi, modulo 2^32 */
static inline bool seq_between(uint32_t lo, uint32_t x, uint32_t hi)
{
    return (uint32_t)(x - lo) <= (uint32_t)(hi - lo);
}

/* ---- the eleven states (RFC 9293 3.3.2) ---- */
enum tcb_state {
    TCP_CLOSED,
    TCP_LISTEN,
    TCP_SYN_SENT,
    TCP_SYN_RECEIVED,
    TCP_ESTABLISHED,
    TCP_FIN_WAIT_1,
    TCP_FIN_WAIT_2,
    TCP_CLOSE_WAIT,
    TCP_CLOSING,
    TCP_LAST_ACK,
    TCP_TIME_WAIT,
};

/* ---- a byte ring: the send and receive buffers ----
 * `len` bytes start at `head`; both wrap at `cap`. Data is copied in once from the user
 * (or the segment) and out once into a segment (or the user).
 * The ring may hold up to `limit` bytes (the buffer size the user set), but memory follows
 * use: `cap` starts at 0, doubles when data needs the room (tcp_ring_reserve), and an
 * emptied ring gives its memory back (tcp_ring_drained: at once when small, after a quiet
 * spell when a stream in full flow was using it). An idle connection holds none. */
struct tcp_ring {
    uint8_t *buf;
    uint32_t cap, head, len;
    uint32_t limit;
};

/* Who owns a TCB (see tcp.h): the socket, a listener (not accepted yet), or TCP itself
 * (the user closed it; it is finishing and frees itself once CLOSED). */
enum tcb_owner { OWNER_USER, OWNER_LISTENER, OWNER_TCP };

/* Upcalls waiting to be delivered at the end of the current event (bits). */
enum {
    EV_ACCEPTABLE = 1 << 0,
    EV_CONNECTED = 1 << 1,
    EV_READABLE = 1 << 2,
    EV_WRITABLE = 1 << 3,
    EV_PEER_CLOSED = 1 << 4,
    EV_ERROR = 1 << 5,
    EV_URGENT = 1 << 6,
};

/* A range of sequence numbers [start, end). Kept in sorted, disjoint lists: the
 * out-of-order data we hold (already written into the receive ring at its place beyond the
 * in-order data, RFC 9293 3.10.7.4 "seventh"), and the SACK scoreboard (what the peer holds
 * beyond what it acknowledged). */
struct seq_range {
    uint32_t start, end;
};

#define TCP_SACK_SCOREBOARD 32 /* ranges the scoreboard remembers (more: forgotten, resent) */
#define TCP_RACK_SEGS       64 /* send times RACK remembers (more: the newest absorbs them) */

/* RACK (tcp_rack.c): when a piece of the sequence space last went out. The records cover
 * [SND.UNA, SND.MAX) in order; what one burst sent at one moment shares a record. */
struct rack_seg {
    uint32_t start, end;
    uint64_t xmit_us; /* Segment.xmit_ts (RFC 8985 6.1) */
    uint32_t order;   /* transmissions of this connection before it: orders equal times */
    uint8_t flags;    /* RACK_RXT | RACK_SACKED | RACK_LOST */
};

/* RACK's variables (RFC 8985 6.1); the names follow the RFC. */
struct rack_state {
    struct rack_seg *segs; /* TCP_RACK_SEGS of them while data is in flight, else NULL */
    unsigned n_segs;
    bool valid;          /* a segment was delivered: xmit_us and end_seq mean something */
    uint64_t xmit_us;    /* RACK.xmit_ts: send time of the most recently sent delivered one */
    uint32_t order;      /* its transmission number */
    uint32_t end_seq;    /* RACK.end_seq: its end */
    uint32_t sends;      /* transmissions so far: the next record's order */
    uint32_t rtt_us;     /* RACK.rtt: its round trip */
    uint32_t min_rtt_us; /* RACK.min_RTT (0: no sample yet) */
    uint32_t fack;       /* RACK.fack: the highest end delivered */
    bool reordering_seen;
    unsigned reo_wnd_mult, reo_wnd_persist;
    bool dsack_round_set;
    uint32_t dsack_round;
    bool was_recovering; /* in fast recovery at the previous ACK */
};

/* The Transmission Control Block (RFC 9293 3.3.1). Variable names follow the RFC. */
struct tcb {
    struct stack *stack;
    enum tcb_state state;
    uint32_t local_ip, remote_ip;
    uint16_t local_port, remote_port;
    bool bound;        /* local_port chosen (tcp_bind or connect) */
    bool hashed;       /* in the 4-tuple hash table (or the listener list) */
    bool in_listeners; /* ... and it was the listener list */
    bool used;         /* connect/listen was called once: a TCB is not reused */

    /* lists */
    struct tcb *hash_next;           /* bucket chain, or the listener list */
    struct tcb *all_prev, *all_next; /* every TCB of the stack */

    /* ownership and upcalls */
    enum tcb_owner owner;
    unsigned busy; /* > 0 while TCP is working on it: not freed until it drops to 0 */
    struct tcp_upcalls up;
    void *ctx;
    unsigned events; /* EV_* waiting for delivery */
    int err;         /* why the connection died (-ECONNRESET, ...); 0 while it lives */

    /* a listener's children */
    struct tcb *parent;       /* the listener, until accepted */
    struct tcb *acceptq_next; /* in the listener's accept queue */
    bool in_acceptq;
    struct tcb *acceptq_head, *acceptq_tail;
    unsigned acceptq_len, syn_recv_count, backlog;

    /* send sequence space (RFC 9293 3.3.1, figure 3) */
    uint32_t iss;
    uint32_t snd_una; /* oldest unacknowledged */
    uint32_t snd_nxt; /* next to send (moves back to snd_una after a timeout) */
    uint32_t snd_max; /* highest ever sent + 1 */
    uint32_t snd_wnd; /* peer's window, scaled */
    uint32_t snd_wl1, snd_wl2;
    uint32_t max_sndwnd; /* largest window the peer offered (sender SWS avoidance) */
    uint32_t snd_base;   /* sequence number of the first byte in the send ring */
    struct tcp_ring snd;
    bool fin_queued; /* the user will send no more: FIN follows the data in the ring */
    bool nodelay;    /* Nagle off */
    uint8_t snd_wscale, rcv_wscale;
    bool wscale_ok;         /* both sides sent the option */
    uint16_t smss;          /* the most data we put in a segment (less the timestamps option) */
    bool sack_ok;           /* both sides sent SACK-permitted (RFC 2018 2) */
    bool ts_ok;             /* both sides sent timestamps (RFC 7323 3.2) */
    uint32_t ts_recent;     /* TS.Recent: the peer's timestamp we echo (RFC 7323 4.3) */
    uint64_t ts_recent_us;  /* when it was taken: older than 24 days, PAWS ignores it */
    uint32_t last_ack_sent; /* Last.ACK.sent: RCV.NXT in our latest ACK */
    uint16_t rcv_mss;       /* the MSS we announced */

    /* receive sequence space */
    uint32_t irs;
    uint32_t rcv_nxt;
    uint32_t rcv_adv; /* right edge of the window we last advertised */
    struct tcp_ring rcv;
    struct seq_range *ooo; /* sorted, disjoint, all beyond rcv_nxt */
    unsigned n_ooo;
    /* SACK blocks to send (RFC 2018 4): the out-of-order ranges most recently changed
     * first; and a duplicate to report once (D-SACK, RFC 2883) */
    struct seq_range sack_recent[TCP_MAX_SACK_BLOCKS];
    unsigned n_sack_recent;
    bool dsack_pending;
    struct seq_range dsack;
    bool sack_owed; /* the out-of-order queue changed: an ACK with the blocks must go */
    bool ooo_fin;   /* a FIN arrived out of order, at ooo_fin_seq */
    uint32_t ooo_fin_seq;
    bool fin_rcvd;
    bool ack_now;          /* an ACK must go out on this round */
    unsigned segs_unacked; /* full segments received since our last ACK (delayed ACK) */
    bool in_ack_batch;     /* owes an ACK at the end of this receive burst */
    struct tcb *ack_batch_next;
    size_t sndbuf_size, rcvbuf_size;

    /* retransmission (RFC 6298) */
    uint32_t srtt_us, rttvar_us, rto_us;
    bool rtt_valid;  /* srtt holds a measurement */
    bool rtt_timing; /* a segment is being timed (Karn: never a retransmitted one) */
    uint32_t rtt_seq;
    uint64_t rtt_start_us;
    unsigned retries;         /* consecutive timeouts without progress */
    unsigned probes;          /* unanswered zero-window probes (give up after too many) */
    unsigned orphan_probes;   /* probes since the application closed, answered or not */
    unsigned persist_backoff; /* probes sent since the window closed: their interval doubles */
    bool syn_timed_out;       /* our SYN (or SYN-ACK) was retransmitted (RFC 6298 5.7) */
    bool close_after_estab;   /* CLOSE/shutdown in SYN-SENT or SYN-RECEIVED: FIN once ESTABLISHED */
    int soft_err;             /* an ICMP error seen; reported instead of -ETIMEDOUT */

    /* congestion control (RFC 5681, RFC 6582) */
    uint32_t cwnd, ssthresh;
    uint32_t bytes_acked; /* congestion avoidance: bytes acked since cwnd last grew */
    uint32_t recover;     /* snd_max when fast recovery (or a timeout) began */
    bool recover_set;     /* recover is still ahead of or at snd_una */
    unsigned dupacks;
    bool in_recovery;
    uint32_t limited_transmit; /* bytes beyond cwnd allowed by RFC 3042 (1-2 duplicate ACKs) */

    /* the SACK scoreboard (tcp_sack.c): what the peer holds above SND.UNA, sorted */
    struct seq_range sacked[TCP_SACK_SCOREBOARD];
    unsigned n_sacked;
    uint32_t high_rxt;   /* HighRxt: the highest byte resent in this recovery + 1 */
    uint32_t lost_below; /* RFC 8985: unSACKed bytes below this are lost (RACK, or the probe) */
    bool rescue_set;     /* RFC 6675 4 NextSeg (4): one rescue retransmission per recovery */
    uint32_t rescue_rxt; /* RescueRxt */

    struct rack_state rack; /* time-based loss detection (tcp_rack.c) */

    /* the tail loss probe (tcp_tlp.c) */
    bool tlp_out;          /* a probe is out: no second one for the same tail */
    bool tlp_was_rxt;      /* ... and it resent data (a loss, if no D-SACK says otherwise) */
    uint32_t tlp_high_seq; /* SND.MAX when it went */
    uint32_t tlp_seq;      /* its first byte */

    struct timer rtx_timer;     /* retransmission (also SYN, FIN) */
    struct timer persist_timer; /* zero-window probes */
    struct timer delack_timer;  /* delayed ACK */
    struct timer wait_timer;    /* TIME-WAIT 2*MSL, and FIN-WAIT-2 of a closed socket */
    struct timer tlp_timer;     /* tail loss probe (RFC 8985 7) */
    struct timer rack_timer;    /* RACK reordering timer (RFC 8985 6.2 step 5) */
    struct timer ring_timer;    /* a large emptied ring goes back after a quiet spell */

    /* what the application set for this connection (tcp_keepalive.c) */
    uint8_t ip_ttl, ip_tos; /* IP header fields of our segments; TTL 0: the stack's */
    unsigned max_retries;   /* R2: retransmissions before giving up; 0: the stack's */
    unsigned retries1;      /* R1: retransmissions before advice to IP; 0: the stack's */
    bool keepalive;         /* RFC 9293 3.8.4: off unless asked */
    unsigned ka_idle_s, ka_intvl_s, ka_cnt, ka_probes;
    uint64_t ka_last_rx_us; /* when the peer last sent us anything */
    struct timer ka_timer;

    /* urgent data (tcp_urgent.c) */
    uint32_t rcv_up, snd_up; /* RCV.UP, SND.UP: the octet after the urgent data */
    bool rcv_up_valid, snd_up_valid;
    bool urg_captured;   /* the octet before rcv_up was looked for in the ring */
    bool urg_in_stream;  /* it is still in the receive ring, at urg_mark: skipped on reading */
    bool urg_byte_valid; /* urg_byte waits for tcp_recv_urgent() */
    uint8_t urg_byte;
    uint32_t urg_mark;
};

/* The 4-tuple hash has about one bucket per TCB the table may hold (2 x max_sockets,
 * rounded up to a power of two, 16 to 2^20), so a lookup walks a chain of one or two
 * however many connections are open: 2,048 buckets (16 KiB) by default. */
#define TCP_HASH_MIN_BITS 4
#define TCP_HASH_MAX_BITS 20

struct tcp_state {
    struct tcb **buckets; /* synchronized connections by 4-tuple */
    unsigned hash_bits;   /* 1 << hash_bits buckets */
    struct tcb *listeners;
    struct tcb *all;
    unsigned count;
    uint64_t isn_key[2]; /* RFC 6528 secret, from stack_random at init */
    uint16_t next_ephemeral;
    /* A receive burst: the frames one stack_step() read. Segments of one connection that
     * arrive in a burst are acknowledged once at its end (tcp_burst_end). */
    bool in_burst;
    struct tcb *ack_batch;
    /* The trace line of the segment being processed waits until its first reply goes out
     * (or processing ends), so the state changes it caused join it:
     * "10.0.0.1:40112 > 10.0.0.2:7 SYN seq=1 win=64240 mss=1460 | LISTEN -> SYN-RECEIVED" */
    bool rx_pending;
    char rx_line[256];
    char transitions[160];
    /* The ISNs the arriving segment's numbers are shown relative to, for its line and for
     * a RST answering it (tcp_trace_segment): the sender's (peer_isn) and ours. */
    bool have_peer_isn, have_our_isn;
    uint32_t peer_isn, our_isn;
};

/* Times (microseconds) */
#define TCP_RTO_INITIAL_US    1000000u  /* RFC 6298 2.1 */
#define TCP_RTO_MIN_US        200000u   /* Linux's floor; RFC 6298 says 1 s */
#define TCP_RTO_MAX_US        60000000u /* RFC 6298 2.5 */
#define TCP_DELACK_US         40000u    /* RFC 1122 4.2.3.2 allows up to 500 ms */
#define TCP_BURST_MAX_UNACKED 16        /* a burst ACKs at least every 16 segments */
#define TCP_TSO_MAX           64000 /* bytes of data in one TSO frame (the frame stays < 64 KiB) */
#define TCP_DEFAULT_MSS       536   /* RFC 9293 3.7.1: when the peer sends no MSS */
#define TCP_ORPHAN_PROBES     8     /* zero-window probes an orphan sends before its RST */

/* tcp.c */
const char *tcp_state_name(enum tcb_state s);
void tcp_set_state(struct tcb *tcb, enum tcb_state s);
/* Hand an event about this connection to the recorder, if there is one (record.h). */
void tcp_record(struct tcb *tcb, enum record_kind kind, const char *from, const char *what);
struct tcb *tcp_lookup(struct stack *stack, uint32_t lip, uint16_t lport, uint32_t rip,
                       uint16_t rport);
struct tcb *tcp_lookup_listener(struct stack *stack, uint32_t lip, uint16_t lport);
struct tcb *tcp_new_child(struct tcb *listener, uint32_t lip, uint32_t rip, uint16_t rport);
void tcp_hash(struct tcb *tcb);
uint32_t tcp_new_isn(struct stack *stack, uint32_t lip, uint16_t lport, uint32_t rip,
                     uint16_t rport);
/* The connection is over: report err (0: none) through the error upcall, enter CLOSED. */
void tcp_connection_dead(struct tcb *tcb, int err);
/* A child reached ESTABLISHED: queue it for accept (false if the queue is full). */
bool tcp_child_established(struct tcb *child);
/* Begin / end of TCP's work on a TCB: end delivers the upcalls and frees it if done. */
void tcb_hold(struct tcb *tcb);
void tcb_release(struct tcb *tcb);
void tcp_choose_wscale(struct tcb *tcb);
/* The window scale we use for a receive buffer of this size (RFC 7323 2.3). */
uint8_t tcp_wscale_for(uint32_t rcvbuf);
/* SipHash-2-4 (a keyed hash) of len bytes with the 128-bit key k. */
uint64_t tcp_siphash24(const uint64_t k[2], const uint8_t *m, size_t len);
/* Print the pending trace line of the arriving segment, if any. */
void tcp_trace_flush(struct stack *stack);
/* A segment's trace line into buf: "tx 10.0.0.2:7 > 10.0.0.1:40112 ACK seq=1 ack=1 ...".
 * tx with tcb: one of ours; tx without: a RST answering the segment being processed;
 * rx: the arriving segment (tcp_input sets the ISNs first). */
void tcp_trace_segment(struct stack *stack, const struct tcb *tcb, bool tx, const struct tcp_hdr *h,
                       uint32_t src, uint32_t dst, size_t len, char *buf, size_t size);
/* "10.0.0.1:40112 > 10.0.0.2:7 " and then the text, as a line of TCP's trace. */
void tcp_trace_conn(const struct tcb *tcb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A sequence number of ours, as the trace shows it (relative to our ISN by default). */
uint32_t tcp_trace_seq(const struct tcb *tcb, uint32_t seq);

/* rings */
uint32_t ring_free(const struct tcp_ring *r);
void ring_write_at(struct tcp_ring *r, uint32_t off, const uint8_t *src, uint32_t n);
void ring_read_at(const struct tcp_ring *r, uint32_t off, uint8_t *dst, uint32_t n);
void ring_consume(struct tcp_ring *r, uint32_t n);
int tcp_ring_reserve(struct tcb *tcb, struct tcp_ring *r, uint32_t end);
void tcp_ring_release(struct tcb *tcb, struct tcp_ring *r);
void tcp_ring_drained(struct tcb *tcb, struct tcp_ring *r);
void tcp_ring_idle_fire(struct stack *stack, void *arg);

/* tcp_output.c */
void tcp_timers_init(struct tcb *tcb);
void tcp_timers_cancel(struct tcb *tcb);
void tcp_output(struct tcb *tcb);
void tcp_send_syn(struct tcb *tcb); /* SYN or SYN-ACK, by state */
void tcp_send_ack(struct tcb *tcb);
void tcp_send_rst_for(struct tcb *tcb); /* <SEQ=SND.NXT><CTL=RST> */
void tcp_send_challenge_ack(struct tcb *tcb);
/* why: for the trace line ("fast retransmit after 3 duplicate ACKs") */
void tcp_retransmit_first(struct tcb *tcb, const char *why);
/* Resend up to `max` bytes at seq (a hole the scoreboard found); returns the bytes sent. */
uint32_t tcp_retransmit_at(struct tcb *tcb, uint32_t seq, uint32_t max, const char *why);
/* One new segment at SND.NXT if the peer's window has room (SACK recovery). Returns the
 * sequence numbers it took (0: nothing went). */
uint32_t tcp_send_new_segment(struct tcb *tcb);
/* Our timestamp clock (RFC 7323 5.4): milliseconds, offset by the ISS per connection. */
uint32_t tcp_ts_now(const struct tcb *tcb);
/* A RST that belongs to no TCB (RFC 9293 3.10.7.1). Addresses are the reply's. */
void tcp_send_reset(struct stack *stack, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                    uint32_t seq, uint32_t ack, bool with_ack);
/* Send a segment that belongs to no TCB (a RST, a SYN cookie's SYN-ACK); checksummed here. */
void tcp_send_segment(struct stack *stack, uint32_t src, uint32_t dst, const struct tcp_hdr *h);
void tcp_rtt_sample(struct tcb *tcb, uint32_t rtt_us);
void tcp_arm_rtx(struct tcb *tcb);
void tcp_enter_time_wait(struct tcb *tcb);
uint32_t tcp_rcv_window(struct tcb *tcb);
void tcp_window_update(struct tcb *tcb);
void tcp_schedule_ack(struct tcb *tcb, uint32_t len);
void tcp_ack_due(struct tcb *tcb);
uint32_t tcp_fin_seq(const struct tcb *tcb);

/* tcp_syncookie.c (RFC 4987 3.6) */
/* Is the listener's backlog of half-open connections full (answer with cookies)? */
bool tcp_syncookie_needed(const struct tcb *listener);
/* Answer a SYN with a SYN-ACK whose sequence number is a cookie; keep nothing. */
void tcp_syncookie_send(struct tcb *listener, uint32_t lip, uint32_t rip,
                        const struct tcp_hdr *syn);
/* Does this ACK return a cookie of ours? Then opts = the options of the SYN it answers. */
bool tcp_syncookie_ack(struct tcb *listener, uint32_t lip, uint32_t rip, const struct tcp_hdr *ack,
                       struct tcp_opts *opts);
bool tcp_fin_acked(const struct tcb *tcb);

/* tcp_cc.c */
void tcp_cc_init(struct tcb *tcb);
void tcp_cc_on_ack(struct tcb *tcb, uint32_t acked);
void tcp_cc_on_dupack(struct tcb *tcb);
void tcp_cc_on_timeout(struct tcb *tcb);
/* An ACK carried SACK blocks that told something new: maybe a loss (RFC 6675 5). */
void tcp_cc_on_sack(struct tcb *tcb);
/* A tail loss probe found a loss (RFC 8985 7.4.2): reduce as for fast recovery. */
void tcp_cc_on_tlp_loss(struct tcb *tcb);

/* tcp_sack.c: receiving side (the blocks we send) */
void tcp_sack_rx_segment(struct tcb *tcb, uint32_t start, uint32_t end);
void tcp_sack_rx_advance(struct tcb *tcb);
void tcp_sack_rx_duplicate(struct tcb *tcb, uint32_t start, uint32_t end);
unsigned tcp_sack_fill(struct tcb *tcb, struct tcp_sack_block *out, unsigned max);
/* tcp_sack.c: sending side (the scoreboard) */
bool range_add(struct seq_range *set, unsigned *n, unsigned max, uint32_t start, uint32_t end);
uint32_t tcp_sack_update(struct tcb *tcb, const struct tcp_opts *o);
void tcp_sack_forget_acked(struct tcb *tcb);
void tcp_sack_clear(struct tcb *tcb);
bool tcp_sack_is_lost(const struct tcb *tcb, uint32_t seq);
bool tcp_sack_holds(const struct tcb *tcb, uint32_t seq);
bool tcp_sack_is_dsack(const struct tcp_opts *o, uint32_t ack);
uint32_t tcp_sack_pipe(const struct tcb *tcb);
bool tcp_sack_next_hole(const struct tcb *tcb, uint32_t *seq, uint32_t *len, bool lost_only);
uint32_t tcp_sack_skip(const struct tcb *tcb, uint32_t seq, uint32_t *len);
bool tcp_sack_recovery_output(struct tcb *tcb);

/* tcp_tlp.c */
void tcp_tlp_arm(struct tcb *tcb);
void tcp_tlp_fire(struct stack *stack, void *arg);
void tcp_tlp_on_ack(struct tcb *tcb, const struct tcp_opts *o);

/* tcp_rack.c */
void tcp_rack_init(struct tcb *tcb);
void tcp_rack_free(struct tcb *tcb);
bool tcp_rack_enabled(const struct tcb *tcb);
/* Segment [seq, end) went out now (new, or resent when below SND.MAX). */
void tcp_rack_sent(struct tcb *tcb, uint32_t seq, uint32_t end);
/* An ACK was processed (SND.UNA moved, the scoreboard updated): RFC 8985 6.2 steps 1-5.
 * True if RACK found something lost. */
bool tcp_rack_on_ack(struct tcb *tcb, const struct tcp_opts *o);
void tcp_rack_fire(struct stack *stack, void *arg);
/* A retransmission RACK found lost (RFC 8985 6.2): the first one, to resend again. */
bool tcp_rack_lost_retransmission(const struct tcb *tcb, uint32_t *seq, uint32_t *len);
/* Bytes of retransmissions RACK found lost: no longer in flight (pipe). */
uint32_t tcp_rack_lost_retransmitted_bytes(const struct tcb *tcb);

/* tcp_input.c */
void tcp_error(struct stack *stack, const struct ip_error *err);

/* tcp_keepalive.c */
void tcp_keepalive_init(struct tcb *tcb);
void tcp_keepalive_rx(struct tcb *tcb); /* a segment from the peer: it is alive */
void tcp_inherit_settings(struct tcb *child, const struct tcb *listener);
unsigned tcp_max_retries(const struct tcb *tcb); /* R2 of this connection */
void tcp_check_r1(struct tcb *tcb);              /* the retransmission timer fired: R1 reached? */
void tcp_send_keepalive(struct tcb *tcb);        /* tcp_output.c: <SEQ=SND.UNA-1><CTL=ACK> */

/* tcp_urgent.c */
void tcp_urgent_rx(struct tcb *tcb, uint8_t flags, uint32_t seq, uint16_t urg_ptr);
void tcp_urgent_capture(struct tcb *tcb);
uint32_t tcp_urgent_clip(struct tcb *tcb, uint32_t n); /* bytes tcp_recv may return */
void tcp_urgent_fill(struct tcb *tcb, struct tcp_hdr *h);

#endif
