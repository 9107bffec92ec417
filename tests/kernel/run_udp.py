#!/usr/bin/env python3
"""run_udp.py - UDP both ways for test_run_udp.sh; every mode also passes on the kernel alone.

  run_udp.py echo HOST PORT      the kernel's echo server: each datagram back to its sender;
                                 "stranger PORT" then sends "stranger" to the sender's address
                                 and PORT from another port (prints "ready" once bound; runs
                                 until killed)
  run_udp.py client HOST PORT    on tapir: checks against the echo server on HOST:PORT;
                                 each check prints "ok NAME" or "FAIL NAME: why"; the exit
                                 status is the number of failures
  run_udp.py server PORT N       on tapir: echo N datagrams received on 0.0.0.0:PORT, exit
  run_udp.py send HOST PORT      the kernel's client of `server`: prints "ok" when the
                                 bytes come back from HOST:PORT
"""
import errno
import select
import socket
import sys

from checklist import Checklist, expect_errno

TIMEOUT = 10


def udp():
    return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)


def echo(host, port):
    s = udp()
    s.bind((host, port))
    other = udp()
    other.bind((host, 0))
    print("ready", flush=True)
    while True:
        data, addr = s.recvfrom(65535)
        s.sendto(data, addr)
        if data.startswith(b"stranger "):
            other.sendto(b"stranger", (addr[0], int(data.split()[1])))


def client(host, port):
    server = (host, port)
    checks = Checklist()
    check = checks.check

    def unconnected():
        s = udp()
        s.settimeout(TIMEOUT)
        assert s.getsockname() == ("0.0.0.0", 0), s.getsockname()
        expect_errno(errno.ENOTCONN, s.getpeername)
        expect_errno(errno.EDESTADDRREQ, lambda: s.send(b"x"))
        assert s.sendto(b"hello tapir", server) == 11
        ip, port = s.getsockname()
        assert ip == "0.0.0.0" and port >= 1024, (ip, port)  # an ephemeral port
        data, addr = s.recvfrom(100)
        assert (data, addr) == (b"hello tapir", server), (data, addr)
        expect_errno(errno.EINVAL, lambda: s.bind(("0.0.0.0", 9352)))  # the send bound it
        s.close()

    def connected():
        s = udp()
        s.settimeout(TIMEOUT)
        s.bind(("0.0.0.0", 0))
        s.connect(server)
        assert s.getpeername() == server, s.getpeername()
        assert s.getsockname()[0] != "0.0.0.0", s.getsockname()  # the source chosen
        big = bytes(range(256)) * 20  # 5120 bytes: IP fragments both ways
        s.send(big)
        assert s.recv(65535) == big
        s.sendmsg([b"two ", b"parts"])
        data, _, flags, addr = s.recvmsg(100)
        assert (data, flags, addr) == (b"two parts", 0, server), (data, flags, addr)
        # a datagram from another port of the server: an unconnected socket gets it, a
        # connected one does not (it sees only its peer's, as Linux filters)
        u = udp()
        u.settimeout(TIMEOUT)
        u.bind(("0.0.0.0", 0))
        for sock in (s, u):
            u.sendto(b"stranger %d" % sock.getsockname()[1], server)
            assert u.recv(100).startswith(b"stranger "), "the echo"
        assert u.recvfrom(100)[0] == b"stranger"  # so it was sent to s as well
        s.send(b"after the stranger")
        assert s.recv(100) == b"after the stranger"
        u.close()
        s.close()

    def peek_and_truncate():
        s = udp()
        s.settimeout(TIMEOUT)
        s.sendto(b"0123456789", server)
        data, addr = s.recvfrom(100, socket.MSG_PEEK)
        assert (data, addr) == (b"0123456789", server), (data, addr)
        data, _, flags, _ = s.recvmsg(4)  # the rest of the datagram is lost
        assert data == b"0123" and flags & socket.MSG_TRUNC, (data, flags)
        s.sendto(b"abcdef", server)
        s.sendto(b"next", server)
        assert s.recv(2) == b"ab"  # one datagram per receive, whatever the size
        assert s.recv(100) == b"next"
        s.sendto(b"", server)  # an empty datagram is a datagram
        assert s.recvfrom(100) == (b"", server)
        s.close()

    def nonblocking_and_select():
        s = udp()
        s.setblocking(False)
        expect_errno(errno.EAGAIN, lambda: s.recv(100))
        r, w, _ = select.select([s], [s], [], 0)
        assert r == [] and w == [s], (r, w)  # nothing to read; room to write
        s.sendto(b"wake up", server)
        r, _, _ = select.select([s], [], [], TIMEOUT)
        assert r == [s], "not readable after the echo"
        assert s.recvfrom(100) == (b"wake up", server)
        expect_errno(errno.EAGAIN, lambda: s.recv(100))
        s.close()

    def refused():
        s = udp()
        s.settimeout(TIMEOUT)
        s.connect((host, 9))  # nothing listens: ICMP port unreachable
        s.send(b"anyone?")
        expect_errno(errno.ECONNREFUSED, lambda: s.recv(100))
        s.setblocking(False)
        expect_errno(errno.EAGAIN, lambda: s.recv(100))  # reported once
        s.setblocking(True)
        s.send(b"again?")  # the next error: reported by the send after it
        r, _, _ = select.select([s], [], [], TIMEOUT)
        assert r == [s], "not readable after the ICMP error"
        expect_errno(errno.ECONNREFUSED, lambda: s.send(b"and now?"))
        s.close()

    def bad_use():
        s = udp()
        expect_errno(errno.EOPNOTSUPP, lambda: s.listen(1))
        s.bind(("0.0.0.0", 9350))
        t = udp()
        expect_errno(errno.EADDRINUSE, lambda: t.bind(("0.0.0.0", 9350)))
        expect_errno(errno.EINVAL, lambda: s.bind(("0.0.0.0", 9351)))  # bound already
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) == socket.SOCK_DGRAM
        s.close()
        t.close()

    check("unconnected sendto/recvfrom", unconnected)
    check("connected send/recv/sendmsg/recvmsg", connected)
    check("MSG_PEEK and truncation", peek_and_truncate)
    check("non-blocking EAGAIN and select", nonblocking_and_select)
    check("ECONNREFUSED on a connected socket", refused)
    check("listen, EADDRINUSE, second bind, SO_TYPE", bad_use)
    sys.exit(checks.failures)


def server(port, count):
    s = udp()
    s.settimeout(30)
    s.bind(("0.0.0.0", port))
    print("bound", s.getsockname(), flush=True)
    for _ in range(count):
        data, addr = s.recvfrom(65535)
        s.sendto(data, addr)
        print("echoed %d bytes to %s:%d" % (len(data), addr[0], addr[1]), flush=True)


def send(host, port):
    s = udp()
    s.settimeout(TIMEOUT)
    s.bind(("0.0.0.0", 0))
    for msg in (b"from the kernel", b"x" * 3000):
        s.sendto(msg, (host, port))
        data, addr = s.recvfrom(65535)
        assert (data, addr) == (msg, (host, port)), (data[:20], addr)
    print("ok", flush=True)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "echo":
        echo(sys.argv[2], int(sys.argv[3]))
    elif mode == "client":
        client(sys.argv[2], int(sys.argv[3]))
    elif mode == "server":
        server(int(sys.argv[2]), int(sys.argv[3]))
    elif mode == "send":
        send(sys.argv[2], int(sys.argv[3]))
