#!/usr/bin/env python3
"""run_client.py - what test_run_errors.sh runs on tapir (`tapir run python3 run_client.py`).

Each check prints "ok NAME" or "FAIL NAME: why"; the exit status is the number of failures.
The errors expected are Linux's: run against the kernel alone, the script passes too.
  run_client.py HOST SHA256   HOST runs run_peer.py and `python3 -m http.server 8000`
                              serving FILE whose sha256 is SHA256
"""
import errno
import hashlib
import os
import select
import signal
import socket
import sys

from checklist import Checklist, expect_errno

HOST, SHA = sys.argv[1], sys.argv[2]
checks = Checklist()
check = checks.check


def connected(port):
    s = socket.create_connection((HOST, port), timeout=10)
    s.settimeout(None)
    return s


def refused():
    s = socket.socket()
    expect_errno(errno.ECONNREFUSED, lambda: s.connect((HOST, 9)))
    s.close()


def addr_in_use():
    a = socket.socket()
    a.bind(("0.0.0.0", 9200))
    a.listen(1)
    assert a.getsockname() == ("0.0.0.0", 9200), a.getsockname()
    b = socket.socket()
    expect_errno(errno.EADDRINUSE, lambda: b.bind(("0.0.0.0", 9200)))
    a.close()
    b.close()


def again():
    s = connected(9101)
    s.setblocking(False)
    expect_errno(errno.EAGAIN, lambda: s.recv(100))
    assert s.send(b"hello") == 5
    s.close()


def wait_reset(s):
    """Send a byte to the resetting peer, then read until its RST arrives."""
    s.send(b"x")
    r, _, _ = select.select([s], [], [], 10)
    assert r, "no RST within 10 s"
    expect_errno(errno.ECONNRESET, lambda: s.recv(100))


def pipe_after_reset():
    s = connected(9102)
    wait_reset(s)
    expect_errno(errno.EPIPE, lambda: s.send(b"more"))  # Python ignores SIGPIPE
    s.close()


def sigpipe_after_reset():
    s = connected(9102)
    wait_reset(s)
    pid = os.fork()
    if pid == 0:  # a process with the default SIGPIPE: the write kills it
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        try:
            os.write(s.fileno(), b"more")
        finally:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGPIPE, "status %#x" % status
    s.close()


def in_progress():
    """Nobody answers ARP for 10.0.0.3: the connection stays in progress, and a socket
    whose connection is in progress is not writable (as on Linux)."""
    s = socket.socket()
    s.setblocking(False)
    expect_errno(errno.EINPROGRESS, lambda: s.connect(("10.0.0.3", 80)))
    _, w, _ = select.select([], [s], [], 0.5)
    assert not w, "writable while the connection is still being made"
    expect_errno(errno.EAGAIN, lambda: s.send(b"early"))
    s.close()


def select_client():
    s = socket.socket()
    s.setblocking(False)
    expect_errno(errno.EINPROGRESS, lambda: s.connect((HOST, 8000)))
    _, w, _ = select.select([], [s], [], 10)
    assert w, "not writable within 10 s"
    assert s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    assert s.getpeername() == (HOST, 8000), s.getpeername()
    s.send(b"GET /file HTTP/1.0\r\n\r\n")
    data = b""
    for _ in range(100000):  # bounded: a 10 MiB answer takes a few hundred reads
        r, _, _ = select.select([s], [], [], 10)
        assert r, "nothing to read within 10 s"
        try:
            chunk = s.recv(65536)
        except BlockingIOError:
            continue
        if not chunk:
            break
        data += chunk
    s.close()
    body = data.split(b"\r\n\r\n", 1)[1]
    got = hashlib.sha256(body).hexdigest()
    assert got == SHA, "sha256 %s of %d bytes" % (got, len(body))


check("ECONNREFUSED to a closed port", refused)
check("EADDRINUSE on a second bind", addr_in_use)
check("EAGAIN on an empty non-blocking socket", again)
check("EPIPE after the peer reset", pipe_after_reset)
check("SIGPIPE after the peer reset", sigpipe_after_reset)
check("non-blocking client with select", select_client)
check("not writable while connecting", in_progress)
sys.exit(checks.failures)
