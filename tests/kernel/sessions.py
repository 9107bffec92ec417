#!/usr/bin/env python3
"""tests/kernel/sessions.py HOST PORT N LINE [SRCPORT] - N short TCP sessions.

Each session connects, sends LINE (and a newline), reads until the server closes, and
closes: with the hub and LINE = QUIT, the server closes first, so tapir keeps each
connection in TIME-WAIT. Prints "done K" (sessions that ended with the server's close).
Sessions run 100 at a time; with SRCPORT, one after the other, all from that local port
(each waits, at most 2 s, until the kernel has let go of the last one's port).
Bounded: at most 90 s in all, 10 s per session.
"""
import errno
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def connect(host, port, srcport):
    if not srcport:
        return socket.create_connection((host, port), timeout=10)
    for _ in range(40):  # the last session's socket may still be closing (LAST-ACK)
        try:
            return socket.create_connection((host, port), timeout=10, source_address=("", srcport))
        except OSError as e:
            if e.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
                raise
            time.sleep(0.05)
    raise OSError(errno.EADDRINUSE, "port %d still in use" % srcport)


def session(host, port, line, srcport=0):
    try:
        with connect(host, port, srcport) as s:
            s.sendall(line.encode() + b"\n")
            while s.recv(4096):
                pass
        return True
    except OSError:
        return False


def main():
    host, port, n, line = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    deadline = time.monotonic() + 90
    done = 0
    if len(sys.argv) > 5:
        srcport = int(sys.argv[5])
        for _ in range(n):
            if time.monotonic() > deadline:
                break
            done += session(host, port, line, srcport)
        print("done %d" % done)
        return
    with ThreadPoolExecutor(max_workers=100) as pool:
        for start in range(0, n, 100):
            if time.monotonic() > deadline:
                break
            batch = range(start, min(n, start + 100))
            done += sum(pool.map(lambda _: session(host, port, line), batch))
    print("done %d" % done)


if __name__ == "__main__":
    main()
