#!/usr/bin/env python3
"""tests/kernel/craft.py - hostile frames for the attack tests, built with scapy.

Run inside the test's namespace; every frame goes out of tap0 straight to tapir's MAC, so
the kernel's own routing and ARP play no part. Each command sends a bounded number of
frames and exits.

  craft.py self N          UDP 10.0.0.2:7 -> 10.0.0.2:7 (our own address as source),
                           the same from 127.0.0.1 and 0.0.0.0, and a LAND SYN
                           (10.0.0.2:7 -> 10.0.0.2:7): N of each
  craft.py service-port N  UDP 10.0.0.1:19 (chargen) -> 10.0.0.2:7: N
  craft.py syn-flood N     N SYNs to port 7 from N forged sources in 198.18.0.0/15 (nobody
                           answers the SYN-ACKs: the handshakes stay half-open)
  craft.py bad-cookie N    N ACKs to port 7 from 10.0.0.1 acknowledging made-up cookies
  craft.py frag-trains N   N fragments that never complete, each of a new datagram (UDP
                           from 10.0.0.1): alternately one 8-byte last fragment at offset
                           65496 (pins 64 KiB of buffer) and a first fragment (MF set)
  craft.py ghost-pings N   N ICMP echo requests from nonexistent neighbours 10.0.0.100-249
                           (each reply makes tapir resolve one of them), 2 ms apart
"""
import sys

from scapy.all import ICMP, IP, TCP, UDP, Ether, Raw, conf, get_if_hwaddr, sendp

IFACE = "tap0"
TAPIR_MAC = "02:00:00:00:00:02"
TAPIR_IP = "10.0.0.2"
PEER_IP = "10.0.0.1"
conf.verb = 0


def eth():
    return Ether(src=get_if_hwaddr(IFACE), dst=TAPIR_MAC)


def send(frames):
    sendp(frames, iface=IFACE)


def self_addressed(n):
    frames = []
    for src in (TAPIR_IP, "127.0.0.1", "0.0.0.0"):
        frames += [eth() / IP(src=src, dst=TAPIR_IP) / UDP(sport=7, dport=7) / Raw(b"loop")] * n
    land = eth() / IP(src=TAPIR_IP, dst=TAPIR_IP) / TCP(sport=7, dport=7, flags="S", seq=1000)
    frames += [land] * n
    send(frames)


def service_port(n):
    send([eth() / IP(src=PEER_IP, dst=TAPIR_IP) / UDP(sport=19, dport=7) / Raw(b"chargen")] * n)


def syn_flood(n):
    frames = []
    for i in range(n):
        src = "198.18.%d.%d" % (i // 250, 1 + i % 250)
        frames.append(eth() / IP(src=src, dst=TAPIR_IP) /
                      TCP(sport=10000 + i, dport=7, flags="S", seq=i * 7919,
                          options=[("MSS", 1460), ("WScale", 7)]))
    send(frames)


def bad_cookie(n):
    send([eth() / IP(src=PEER_IP, dst=TAPIR_IP) /
          TCP(sport=20000 + i, dport=7, flags="A", seq=5000 + i, ack=123456789 + i * 1000)
          for i in range(n)])


def frag_trains(n):
    frames = []
    for i in range(n):
        ip = IP(src=PEER_IP, dst=TAPIR_IP, proto=17, id=(40000 + i) & 0xffff)
        if i % 2:
            ip.frag, ip.flags = 65496 // 8, 0
        else:
            ip.frag, ip.flags = 0, "MF"
        frames.append(eth() / ip / Raw(b"A" * 8))
    sendp(frames, iface=IFACE, inter=0.002)


def ghost_pings(n):
    frames = [eth() / IP(src="10.0.0.%d" % (100 + i % 150), dst=TAPIR_IP) /
              ICMP(type=8, id=0x4242, seq=i) / Raw(b"ghost") for i in range(n)]
    sendp(frames, iface=IFACE, inter=0.002)


def main():
    cmd, n = sys.argv[1], int(sys.argv[2])
    commands = {"self": self_addressed, "service-port": service_port, "syn-flood": syn_flood,
                "bad-cookie": bad_cookie, "frag-trains": frag_trains,
                "ghost-pings": ghost_pings}
    commands[cmd](n)


if __name__ == "__main__":
    main()
