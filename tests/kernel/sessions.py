#!/usr/bin/env python3
"""tests/kernel/sessions.py HOST PORT N LINE - N short TCP sessions, 100 at a time.

Each session connects, sends LINE (and a newline), reads until the server closes, and
closes: with the hub and LINE = QUIT, the server closes first, so tapir keeps each
connection in TIME-WAIT. Prints "done K" (sessions that ended with the server's close).
Bounded: at most 90 s in all, 10 s per session.
"""
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def session(host, port, line):
    try:
        with socket.create_connection((host, port), timeout=10) as s:
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
    with ThreadPoolExecutor(max_workers=100) as pool:
        for start in range(0, n, 100):
            if time.monotonic() > deadline:
                break
            batch = range(start, min(n, start + 100))
            done += sum(pool.map(lambda _: session(host, port, line), batch))
    print("done %d" % done)


if __name__ == "__main__":
    main()
