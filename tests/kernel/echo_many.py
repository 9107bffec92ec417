#!/usr/bin/env python3
"""tests/kernel/echo_many.py HOST PORT N - N TCP connections open at once, each echoes.

Opens the connections in batches of 1,000 (non-blocking; each batch waits for its
handshakes), so all N are established and held together. Then every connection sends its
own line ("<index>\\n") and must read exactly that line back, while all the others stay
open. Prints "connected K" and "echoed M". Bounded: 50 s in all.
"""
import errno
import resource
import select
import socket
import sys
import time


def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_NOFILE, (n + 64, n + 64))
    deadline = time.monotonic() + 50
    socks = []
    connected = 0
    while len(socks) < n and time.monotonic() < deadline:
        batch = []
        for _ in range(min(1000, n - len(socks))):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex((host, port))
            if err not in (0, errno.EINPROGRESS):
                sys.exit("connect: %s" % errno.errorcode.get(err, err))
            batch.append(s)
        pending = {s.fileno(): s for s in batch}
        poller = select.poll()
        for s in batch:
            poller.register(s, select.POLLOUT)
        while pending and time.monotonic() < deadline:
            for fd, _ in poller.poll(200):
                poller.unregister(fd)
                s = pending.pop(fd)
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    connected += 1
                    socks.append(s)
                else:
                    s.close()
        for s in pending.values():
            s.close()
        if pending:
            break
    print("connected %d" % connected, flush=True)
    want, got = {}, {}
    poller = select.poll()
    for i, s in enumerate(socks):
        line = b"%d\n" % i
        try:
            s.send(line)
        except OSError:
            continue
        want[s.fileno()], got[s.fileno()] = line, b""
        poller.register(s, select.POLLIN)
    byfd = {s.fileno(): s for s in socks}
    echoed = 0
    while want and time.monotonic() < deadline:
        for fd, _ in poller.poll(200):
            try:
                chunk = byfd[fd].recv(64)
            except OSError:
                chunk = b""
            got[fd] += chunk
            if not chunk or len(got[fd]) >= len(want[fd]):
                poller.unregister(fd)
                if got[fd] == want.pop(fd):
                    echoed += 1
    for s in socks:
        s.close()
    print("echoed %d" % echoed)


if __name__ == "__main__":
    main()
