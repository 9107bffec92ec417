#!/usr/bin/env python3
"""tests/kernel/hold.py HOST PORT N SECONDS - hold N TCP connections, then close them all.

Opens N connections at once (non-blocking), waits until the kernel has finished every
handshake (at most 30 s), keeps them open for SECONDS, then closes them all and prints
"connected K" (K: how many handshakes completed). Everything is bounded in time.
"""
import errno
import resource
import select
import socket
import sys
import time


def main():
    host, port, n, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    resource.setrlimit(resource.RLIMIT_NOFILE, (n + 64, n + 64))
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex((host, port))
        if err not in (0, errno.EINPROGRESS):
            sys.exit("connect: %s" % errno.errorcode.get(err, err))
        socks.append(s)
    pending = {s.fileno(): s for s in socks}
    connected = 0
    deadline = time.monotonic() + 30
    poller = select.poll()
    for s in socks:
        poller.register(s, select.POLLOUT)
    while pending and time.monotonic() < deadline:
        for fd, _ in poller.poll(200):
            poller.unregister(fd)
            s = pending.pop(fd)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                connected += 1
    time.sleep(hold)
    for s in socks:
        s.close()
    print("connected %d" % connected)


if __name__ == "__main__":
    main()
