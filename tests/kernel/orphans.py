#!/usr/bin/env python3
"""tests/kernel/orphans.py HOST PORT N SECONDS - N peers that leave zero-window orphans.

Each of N connections to an echo port (opened 100 at a time) gets the smallest receive buffer the kernel allows,
sends 8 KiB and its FIN (shutdown for writing), and never reads. The echo server reads it
all, echoes it and closes: its socket is gone, but most of the echo is still unsent, as
this side's window is shut. The kernel answers every zero-window probe with a zero window
for as long as the socket stays open: SECONDS (at most 60), or until this process is
killed. Prints "sent K" (connections that sent their data and FIN) once they all did (or
after 30 s), then holds the connections. Everything is bounded in time.
"""
import errno
import resource
import select
import socket
import sys
import time

DATA = b"x" * 8192
BATCH = 100


def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    hold = min(float(sys.argv[4]), 60.0)
    resource.setrlimit(resource.RLIMIT_NOFILE, (n + 64, n + 64))
    held, sent = [], 0
    deadline = time.monotonic() + 30
    for start in range(0, n, BATCH):  # a batch at a time: the listener's queue takes it
        pending = {}
        for _ in range(start, min(n, start + BATCH)):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # the kernel's minimum
            s.setblocking(False)
            err = s.connect_ex((host, port))
            if err not in (0, errno.EINPROGRESS):
                sys.exit("connect: %s" % errno.errorcode.get(err, err))
            pending[s.fileno()] = s
            held.append(s)
        poller = select.poll()
        for fd in pending:
            poller.register(fd, select.POLLOUT)
        while pending and time.monotonic() < deadline:
            for fd, _ in poller.poll(200):
                poller.unregister(fd)
                s = pending.pop(fd)
                try:
                    if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0 and s.send(DATA) == len(DATA):
                        s.shutdown(socket.SHUT_WR)
                        sent += 1
                except OSError:
                    pass
    print("sent %d" % sent, flush=True)
    time.sleep(hold)
    for s in held:
        s.close()


if __name__ == "__main__":
    main()
