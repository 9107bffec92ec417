#!/usr/bin/env python3
"""run_peer.py - the kernel's side for test_run_errors.sh and test_run_crash.sh: small TCP servers on 10.0.0.1.

  9101 hold:  accept, read until the end of the stream, close (a quiet peer)
  9102 reset: accept, read one byte, close with SO_LINGER 0 (a RST)
  9103 talk:  accept, send 1000 bytes, then as hold
Prints "ready" once both listen; runs until killed.
"""
import socket
import struct
import sys
import threading


def serve(port, handle):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.0.0.1", port))
    s.listen(8)

    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=handle, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()


def hold(c):
    while c.recv(65536):
        pass
    c.close()


def reset(c):
    c.recv(1)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def talk(c):
    c.sendall(b"t" * 1000)
    try:
        hold(c)
    except ConnectionResetError:
        c.close()


serve(9101, hold)
serve(9102, reset)
serve(9103, talk)
print("ready", flush=True)
threading.Event().wait()
