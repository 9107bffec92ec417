/* stats.h - per-layer counters, in the spirit of `netstat -s`.
 *
 * Each layer's counters are listed once, in an X-macro, so the struct and the printer
 * (stack_stats_print) can never disagree. To add a counter, add one X(...) line.
 * Every drop has a counter: a student can always see why a frame disappeared.
 */
#ifndef TAPIR_STATS_H
#define TAPIR_STATS_H

#include <stdint.h>
#include <stdio.h>

#define ETH_COUNTERS(X)                                                                            \
    X(rx_frames, "frames received")                                                                \
    X(rx_bytes, "bytes received")                                                                  \
    X(tx_frames, "frames sent")                                                                    \
    X(tx_bytes, "bytes sent")                                                                      \
    X(tx_errors, "frames the link driver refused")                                                 \
    X(rx_truncated, "frames shorter than an Ethernet header")                                      \
    X(rx_oversize, "frames longer than the MTU allows")                                            \
    X(rx_not_for_us, "frames for another MAC address")                                             \
    X(rx_ipv6, "IPv6 frames ignored")                                                              \
    X(rx_unknown_ethertype, "frames with an ethertype we do not speak")

#define ARP_COUNTERS(X)                                                                            \
    X(rx_packets, "ARP packets received")                                                          \
    X(rx_truncated, "ARP packets too short")                                                       \
    X(rx_bad_format, "ARP packets not Ethernet/IPv4")                                              \
    X(rx_bad_opcode, "ARP packets with an unknown opcode")                                         \
    X(rx_not_for_us, "ARP packets for another address")                                            \
    X(rx_conflict, "ARP packets from another host claiming our address")                           \
    X(requests_rx, "requests received")                                                            \
    X(replies_rx, "replies received")                                                              \
    X(requests_tx, "requests sent")                                                                \
    X(replies_tx, "replies sent")                                                                  \
    X(gratuitous_tx, "gratuitous announcements sent")                                              \
    X(cache_updates, "cache entries learned or refreshed")                                         \
    X(cache_full, "cache full: entries that could not be stored")                                  \
    X(evictions, "entries evicted to make room (idle, or never answered)")                         \
    X(queue_drops, "packets dropped: waiting queue full")                                          \
    X(resolve_failed, "addresses that never answered")                                             \
    X(reconfirms, "entries forgotten on negative advice, to be asked again")                       \
    X(unresolved_drops, "packets dropped because their address never answered")

#define IP_COUNTERS(X)                                                                             \
    X(rx_packets, "datagrams received")                                                            \
    X(rx_delivered, "datagrams delivered to a protocol above")                                     \
    X(rx_truncated, "datagrams shorter than a header")                                             \
    X(rx_bad_version, "datagrams not IPv4")                                                        \
    X(rx_bad_ihl, "datagrams with IHL < 5 or past the packet")                                     \
    X(rx_bad_length, "datagrams whose total length lies")                                          \
    X(rx_bad_checksum, "datagrams with a bad header checksum")                                     \
    X(rx_ttl_zero, "datagrams arriving with TTL 0 (accepted, RFC 1122 3.2.1.7)")                   \
    X(rx_bad_source, "datagrams from a martian source (broadcast, 0/8, 127/8, ours)")              \
    X(rx_not_for_us, "datagrams for another host")                                                 \
    X(rx_unknown_protocol, "datagrams for a protocol nobody registered")                           \
    X(rx_options, "datagrams with options (passed up)")                                            \
    X(rx_bad_options, "datagrams with a malformed option (parameter problem sent)")                \
    X(rx_link_broadcast, "link-layer broadcasts to a unicast address (RFC 1122 3.3.6)")            \
    X(rx_fragments, "fragments received")                                                          \
    X(reasm_ok, "datagrams reassembled")                                                           \
    X(reasm_timeout, "reassemblies abandoned after the timeout")                                   \
    X(reasm_evicted, "reassemblies given up to make room for newer ones")                          \
    X(reasm_overlap, "fragments dropped for overlapping differently")                              \
    X(reasm_bad_fragment, "fragments malformed (empty, misaligned, too large)")                    \
    X(reasm_limit, "fragments dropped: reassembly buffers full")                                   \
    X(reasm_duplicate, "duplicate fragments ignored")                                              \
    X(tx_packets, "datagrams sent")                                                                \
    X(tx_fragments, "fragments sent")                                                              \
    X(tx_no_route, "datagrams with no route")                                                      \
    X(negative_advice, "negative advice from a transport (TCP at R1)")                             \
    X(gateway_dead, "next-hop gateways that stopped answering ARP")                                \
    X(gateway_switches, "switches to the next default gateway")                                    \
    X(rerouted, "datagrams sent another way after their gateway died")                             \
    X(tx_too_big, "datagrams too big to send (DF or > 65535)")                                     \
    X(tx_errors, "datagrams lost for lack of memory")

#define ICMP_COUNTERS(X)                                                                           \
    X(rx_messages, "messages received")                                                            \
    X(rx_truncated, "messages too short")                                                          \
    X(rx_bad_checksum, "messages with a bad checksum")                                             \
    X(rx_unknown_type, "messages of a type we ignore")                                             \
    X(echo_requests_rx, "echo requests received")                                                  \
    X(echo_replies_tx, "echo replies sent")                                                        \
    X(echo_broadcast_ignored, "echo requests to a broadcast address, not answered")                \
    X(echo_requests_tx, "echo requests sent")                                                      \
    X(echo_replies_rx, "echo replies received")                                                    \
    X(dest_unreach_rx, "destination unreachable received")                                         \
    X(dest_unreach_tx, "destination unreachable sent")                                             \
    X(time_exceeded_rx, "time exceeded received")                                                  \
    X(time_exceeded_tx, "time exceeded sent")                                                      \
    X(param_problem_rx, "parameter problem received (passed to the transport)")                    \
    X(param_problem_tx, "parameter problem sent (a malformed option)")                             \
    X(redirects_rx, "redirects received and put in the route cache")                               \
    X(redirects_bad, "redirects ignored: not from our gateway, or to an odd one")                  \
    X(errors_suppressed, "errors not sent (RFC 1122 3.2.2 forbids)")

#define UDP_COUNTERS(X)                                                                            \
    X(rx_datagrams, "datagrams received")                                                          \
    X(rx_truncated, "datagrams shorter than a header")                                             \
    X(rx_bad_length, "datagrams whose length field lies")                                          \
    X(rx_bad_checksum, "datagrams with a bad checksum")                                            \
    X(rx_no_port, "datagrams to a closed port")                                                    \
    X(rx_queue_full, "datagrams dropped: socket queue full")                                       \
    X(tx_datagrams, "datagrams sent")                                                              \
    X(tx_errors, "datagrams that could not be sent")

#define TCP_COUNTERS(X)                                                                            \
    X(rx_segments, "segments received")                                                            \
    X(rx_truncated, "segments shorter than a header")                                              \
    X(rx_bad_offset, "segments whose data offset lies")                                            \
    X(rx_bad_checksum, "segments with a bad checksum")                                             \
    X(rx_bad_flags, "segments with impossible flags (SYN+FIN, ...)")                               \
    X(rx_bad_options, "segments with malformed options")                                           \
    X(rx_no_connection, "segments for no connection (answered with RST)")                          \
    X(rx_listen_ack, "ACKs to a listener for no connection (answered with RST)")                   \
    X(rx_data_after_close, "segments with data after our user closed (answered with RST)")         \
    X(rx_not_unicast, "segments to a broadcast or multicast address")                              \
    X(rx_out_of_window, "segments outside the receive window (answered with ACK)")                 \
    X(rx_duplicates, "segments carrying data received before")                                     \
    X(rx_beyond_window, "segments trimmed at the right edge of the window")                        \
    X(rx_out_of_order, "segments held out of order")                                               \
    X(rx_ooo_drops, "out-of-order segments dropped: too many held")                                \
    X(rx_bad_ack, "segments acknowledging what was never sent")                                    \
    X(rx_resets, "connections reset by the peer")                                                  \
    X(rx_icmp_errors, "ICMP errors for a connection")                                              \
    X(rx_icmp_ignored, "ICMP errors quoting a sequence number not in flight")                      \
    X(challenge_acks, "challenge ACKs sent (RFC 5961)")                                            \
    X(active_opens, "active opens (connect)")                                                      \
    X(passive_opens, "passive opens (SYN to a listener)")                                          \
    X(established, "connections that reached ESTABLISHED")                                         \
    X(listen_drops, "handshake ACKs dropped: accept queue full")                                   \
    X(syncookies_sent, "SYN cookies sent (backlog full)")                                          \
    X(syncookies_ok, "connections opened by a SYN cookie")                                         \
    X(syncookies_failed, "ACKs to a listener that were no SYN cookie of ours")                     \
    X(tcb_limit, "connections refused: TCB limit reached")                                         \
    X(tw_recycled, "TIME-WAITs ended early: the TCB table was full")                               \
    X(tw_reopened, "TIME-WAITs ended by a newer SYN for the same 4-tuple (RFC 6191)")              \
    X(orphans_aborted, "orphaned connections aborted (table full, or window shut too long)")       \
    X(tx_segments, "segments sent")                                                                \
    X(tx_tso_frames, "of which large frames the link cut into segments (TSO)")                     \
    X(tx_resets, "RSTs sent")                                                                      \
    X(retransmits, "segments retransmitted")                                                       \
    X(fast_retransmits, "fast retransmits (3 duplicate ACKs)")                                     \
    X(sack_recoveries, "of which recovered with SACK (RFC 6675)")                                  \
    X(sack_retransmits, "holes retransmitted from the SACK scoreboard")                            \
    X(rx_dsacks, "D-SACK blocks received: a retransmission was not needed")                        \
    X(tx_dsacks, "D-SACK blocks sent for a duplicate segment")                                     \
    X(limited_transmits, "new segments sent on the 1st/2nd duplicate ACK (RFC 3042)")              \
    X(tlp_probes, "tail loss probes sent (RFC 8985)")                                              \
    X(rack_lost, "segments RACK found lost by their send time (RFC 8985)")                        \
    X(rack_lost_retransmits, "of which retransmissions, lost again")                               \
    X(rack_first, "losses RACK found before the duplicate-ACK rule did")                           \
    X(rescue_retransmits, "rescue retransmissions (RFC 6675 NextSeg rule 4)")                      \
    X(rx_paws_drops, "segments dropped by PAWS: an old timestamp (RFC 7323 5)")                    \
    X(timeouts, "retransmission timeouts")                                                         \
    X(conn_timeouts, "connections given up after too many retransmissions")                        \
    X(r1_reached, "R1 retransmissions unanswered: negative advice to IP, soft error")              \
    X(persist_probes, "zero-window probes sent")                                                   \
    X(keepalive_probes, "keep-alive probes sent")                                                  \
    X(rx_urgent, "urgent pointers received (a new mark)")                                          \
    X(keepalive_timeouts, "connections given up: keep-alive probes unanswered")                    \
    X(delayed_acks, "delayed ACKs sent by the timer")                                              \
    X(window_updates, "window updates sent after the application read")                            \
    X(tx_errors, "segments that could not be sent")                                                \
    X(buffer_bytes, "bytes of send/receive buffer allocated now (they grow with use)")             \
    X(buffer_failures, "buffer growths that failed (out of memory; data dropped or refused)")

#define SOCK_COUNTERS(X)                                                                           \
    X(opened, "sockets opened")                                                                    \
    X(closed, "sockets closed")                                                                    \
    X(accept_retries, "times queued connections were offered again (sockets freed)")

#define DECLARE_COUNTER(name, text) uint64_t name;
struct eth_stats {
    ETH_COUNTERS(DECLARE_COUNTER)
};
struct arp_stats {
    ARP_COUNTERS(DECLARE_COUNTER)
};
struct ip_stats {
    IP_COUNTERS(DECLARE_COUNTER)
};
struct icmp_stats {
    ICMP_COUNTERS(DECLARE_COUNTER)
};
struct udp_stats {
    UDP_COUNTERS(DECLARE_COUNTER)
};
struct tcp_stats {
    TCP_COUNTERS(DECLARE_COUNTER)
};
struct sock_stats {
    SOCK_COUNTERS(DECLARE_COUNTER)
};
#undef DECLARE_COUNTER

struct stack_stats {
    struct eth_stats eth;
    struct arp_stats arp;
    struct ip_stats ip;
    struct icmp_stats icmp;
    struct udp_stats udp;
    struct tcp_stats tcp;
    struct sock_stats sock;
};

/* Print every counter, netstat -s style; zero counters are skipped unless `all`. */
void stack_stats_print(const struct stack_stats *stats, FILE *out, int all);

#endif
