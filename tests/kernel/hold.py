#!/usr/bin/env python3
"""tests/kernel/hold.py HOST PORT N SECONDS [probe] - hold N TCP connections, then close them.

Opens N connections at once (non-blocking), waits until the kernel has finished every
handshake (at most 30 s), keeps them open for SECONDS, then closes them all and prints
"connected K" (K: how many handshakes completed). With "probe", one more connection is
opened while the N are held, and the first line it receives (within 10 s) is printed as
"probe: LINE". Everything is bounded in time.
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
    if len(sys.argv) > 5 and sys.argv[5] == "probe":
        line = b""
        try:
            with socket.create_connection((host, port), timeout=10) as p:
                while not line.endswith(b"\n"):
                    chunk = p.recv(1)
                    if not chunk:
                        break
                    line += chunk
        except OSError as e:
            line = str(e).encode()
        print("probe: %s" % line.decode(errors="replace").strip())
    time.sleep(hold)
    for s in socks:
        s.close()
    print("connected %d" % connected)


if __name__ == "__main__":
    main()
