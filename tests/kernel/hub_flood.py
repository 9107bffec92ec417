#!/usr/bin/env python3
"""tests/kernel/hub_flood.py HOST PORT N PAD [stalled] - pipelined EMITs through the hub.

A subscriber that reads promptly joins room r; with "stalled", a second one joins and
then never reads (small receive buffer). An emitter joins r and sends N lines
"EMIT r ev n=<i> <PAD bytes>" in one go (pipelined). Prints
  emitter-oks K      OK EMIT replies the emitter got
  prompt-events K    EVENT lines the prompt subscriber got
  prompt-in-order 1  its payloads were n=0..N-1 in order, seq numbers consecutive
Bounded: 60 s in all.
"""
import socket
import sys
import threading
import time

DEADLINE = time.monotonic() + 60


def connect(host, port, rcvbuf=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(10)
    s.connect((host, port))
    return s


def read_lines(s, want, prefix, out):
    """Read lines until `want` of them start with prefix (or the deadline)."""
    buf = b""
    while len(out) < want and time.monotonic() < DEADLINE:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        buf += chunk
        *lines, buf = buf.split(b"\n")
        out.extend(l for l in lines if l.startswith(prefix))


def join(s):
    s.sendall(b"JOIN r\n")
    got = []
    read_lines(s, 1, b"OK JOIN", got)
    if not got:
        sys.exit("no OK JOIN")


def main():
    host, port, n, pad = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    stalled = len(sys.argv) > 5 and sys.argv[5] == "stalled"
    prompt = connect(host, port)
    join(prompt)
    if stalled:
        slow = connect(host, port, rcvbuf=4096)
        join(slow)
    emitter = connect(host, port)
    join(emitter)
    lines = b"".join(b"EMIT r ev n=%d %s\n" % (i, b"x" * pad) for i in range(n))
    sender = threading.Thread(target=emitter.sendall, args=(lines,), daemon=True)
    sender.start()
    oks, events = [], []
    reader = threading.Thread(target=read_lines, args=(emitter, n, b"OK EMIT", oks), daemon=True)
    reader.start()
    read_lines(prompt, n, b"EVENT ", events)
    reader.join(max(0.0, DEADLINE - time.monotonic()))
    seqs = [int(e.split()[1]) for e in events]
    payload_ok = all(e.split()[5] == b"n=%d" % i for i, e in enumerate(events))
    in_order = payload_ok and seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else False
    print("emitter-oks %d" % len(oks))
    print("prompt-events %d" % len(events))
    print("prompt-in-order %d" % (1 if in_order else 0))


if __name__ == "__main__":
    main()
