#!/usr/bin/env python3
"""tap_reader.py TAP SECONDS - a plain TAP reader (no virtio-net header, no offloads asked
for), as a student's own program or another stack would be. Attaches to TAP, reads frames
for at most SECONDS and, for the first IPv4 TCP segment, prints
    tcp checksum ok|bad flags=0xNN
(verifying the checksum over the pseudo-header as a receiver must). Exit 0 after that
line, 1 if no TCP segment arrived in time. Used by test_lab_class.sh."""
import fcntl, os, select, struct, sys, time

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", sys.argv[1].encode(), IFF_TAP | IFF_NO_PI))
print("attached", flush=True)
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    r, _, _ = select.select([fd], [], [], 0.1)
    if not r:
        continue
    f = os.read(fd, 65536)
    if len(f) < 34 or f[12:14] != b"\x08\x00" or f[23] != 6:
        continue
    ihl = (f[14] & 15) * 4
    tot = struct.unpack("!H", f[16:18])[0]
    seg = f[14 + ihl:14 + tot]
    pseudo = f[26:34] + struct.pack("!BBH", 0, 6, len(seg))
    ok = csum(pseudo + seg) == 0xFFFF
    print("tcp checksum %s flags=0x%02x" % ("ok" if ok else "bad", seg[13]), flush=True)
    sys.exit(0)
sys.exit(1)
