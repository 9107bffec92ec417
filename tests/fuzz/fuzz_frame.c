/* fuzz_frame.c - libFuzzer harness: arbitrary bytes as frames into a stack on a wire end.
 *
 * Build and run from the top of the repo (see tests/fuzz/README.md): the two lines below.
 */
// clang-format off
// clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Istack tests/fuzz/fuzz_frame.c stack/*.c tap/wire.c tap/impair.c -o build/fuzz_frame
// build/fuzz_frame -max_total_time=60 -max_len=8192
// clang-format on
/*
 * Each input is first delivered whole, as one frame. Then, so that the fuzzer can also reach
 * state that needs several frames (reassembly, ARP resolution, TCP connections), the same
 * bytes are read as a list of records
 *
 *   [advance: 1 byte][length: 2 bytes, big-endian][frame: length bytes] ...
 *
 * each frame sent from the far end of the wire, and the stack's clock moved on by
 * `advance` * 100 ms after it, so timers (ARP retries, reassembly timeouts, TCP
 * retransmissions) fire too. Finally the clock jumps ten minutes and the stack is
 * destroyed: ASan reports any leak or bad access, UBSan any undefined behaviour.
 * A TCP listener and a UDP socket are open so that transport input has somewhere to go.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../stack/sock.h"
#include "../../stack/stack.h"
#include "../../tap/wire.h"

#define STEP_US 100000ull

static void deliver(struct wire *w, struct stack *s, uint64_t *now, const uint8_t *frame,
                    size_t len)
{
    wire_ops.send(wire_end(w, 0), frame, len, *now);
    *now += 100; /* the wire's delay */
    stack_step(s, *now);
    /* throw away what the stack answered, so the wire never fills up */
    uint8_t sink[2048];
    while (wire_ops.recv(wire_end(w, 0), sink, sizeof(sink), UINT64_MAX) > 0)
        ;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct stack_config cfg;
    stack_config_init(&cfg); /* 10.0.0.2/24, 02:00:00:00:00:02 */
    cfg.reasm_max_datagrams = 4;
    cfg.reasm_max_bytes = 16 * 1024;
    cfg.max_sockets = 8; /* 16 TCBs: a few frames fill the table (TIME-WAIT and orphan
                          * reclaim), and the stack is quick to make (its hash has 16
                          * buckets): one is made and destroyed per input */
    struct wire *w = wire_create(1, NULL);
    if (!w)
        return 0;
    struct stack *s = stack_create(&cfg, &wire_ops, wire_end(w, 1));
    if (!s) {
        wire_destroy(w);
        return 0;
    }
    uint64_t now = 1000000;
    stack_start(s, now);

    struct sock *tcp = sock_open(s, SOCK_TYPE_TCP);
    if (tcp && (sock_bind(tcp, 0, 7) < 0 || sock_listen(tcp, 4) < 0))
        tcp = NULL;
    struct sock *udp = sock_open(s, SOCK_TYPE_UDP);
    if (udp)
        sock_bind(udp, 0, 9);

    deliver(w, s, &now, data, size);

    size_t pos = 0;
    while (size - pos >= 3) {
        uint8_t advance = data[pos];
        size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];
        pos += 3;
        if (len > size - pos)
            len = size - pos;
        deliver(w, s, &now, data + pos, len);
        pos += len;
        now += advance * STEP_US;
        stack_step(s, now);
    }
    now += 600 * 1000000ull; /* every timer due: ARP give-up, reassembly timeout, ... */
    stack_step(s, now);
    stack_step(s, now + 600 * 1000000ull);

    stack_destroy(s);
    wire_destroy(w);
    return 0;
}
