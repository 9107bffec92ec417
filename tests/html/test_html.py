#!/usr/bin/env python3
"""tests/html/test_html.py PATH/TO/tapir - the pictures of `tapir sim SCENARIO --html FILE`.

For handshake, loss, transfer and close: write the page, open it in headless Chromium
(html_tool.py selftest) and check what it drew against what the run itself printed:
  - no JavaScript error and no console message; no "http" anywhere in the file;
  - one arrow per frame the wire carried ("wire: N frames sent");
  - as many lost-frame crosses as frames the wire lost or dropped on purpose;
  - as many retransmission marks as TCP counted ("N retransmitted", A and B);
  - duplicate ACKs marked where fast retransmit needed them (loss), none otherwise;
  - clicking the first TCP frame (A's SYN) decodes Ethernet, IPv4 and TCP field by field;
  - the state diagram highlights exactly the transitions of the trace ("X -> Y"), counted.
Then every picture in docs/pictures/ is checked against the current code (pictures.py
check): no Chromium needed. Ends with "html: N passed, N failed".

HTML_BROWSER=0 checks only the data the pages embed (frames, losses, transitions) and no
browser: the ASan pass of make check, where the recorder in C is what is new.
"""
import collections
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import html_tool  # noqa: E402
import pictures  # noqa: E402

SCENARIOS = ["handshake", "loss", "transfer", "close"]


def expected(out):
    """What the run says happened, from its own summary and trace lines."""
    wire = re.search(r"^wire: (\d+) frames sent, \d+ delivered, (\d+) lost"
                     r"(?:, (\d+) dropped on purpose)?", out, re.M)
    rtx = sum(int(n) for n in re.findall(r"^[AB]: .* (\d+) retransmitted", out, re.M))
    states = r"(CLOSED|LISTEN|SYN-SENT|SYN-RECEIVED|ESTABLISHED|FIN-WAIT-1|FIN-WAIT-2|" \
             r"CLOSE-WAIT|CLOSING|LAST-ACK|TIME-WAIT)"
    moves = collections.Counter("%s>%s" % m for m in re.findall(states + " -> " + states, out))
    return {
        "frames": int(wire.group(1)),
        "lost": int(wire.group(2)) + int(wire.group(3) or 0),
        "retransmissions": rtx,
        "transitions": sorted("%s=%d" % kv for kv in moves.items()),
    }


def check_data(data, want):
    """Without a browser: the page's data holds the frames, losses and transitions."""
    moves = collections.Counter("%s>%s" % (n[6], n[4]) for n in data["notes"] if n[2] == "state")
    got = {"frames": len(data["frames"]), "lost": sum(1 for f in data["frames"] if f[3] < 0),
           "transitions": sorted("%s=%d" % kv for kv in moves.items())}
    return ["%s: page data has %s, the run says %s" % (k, got[k], want[k])
            for k in got if got[k] != want[k]]


def check_scenario(tapir, name, tmp):
    page = os.path.join(tmp, name + ".html")
    run = subprocess.run([tapir, "sim", name, "--html", page], stdout=subprocess.PIPE, timeout=60)
    out = run.stdout.decode()
    if run.returncode != 0:
        return ["tapir sim %s --html exited %d" % (name, run.returncode)]
    want = expected(out)
    if os.environ.get("HTML_BROWSER", "1") == "0":
        return check_data(html_tool.run_data(page), want)
    got = html_tool.selftest(page)
    problems = []
    for key in ("frames", "lost", "retransmissions", "transitions"):
        if got[key] != want[key]:
            problems.append("%s: page shows %s, the run says %s" % (key, got[key], want[key]))
    if got["arrows"] != want["frames"]:
        problems.append("arrows: %d drawn for %d frames" % (got["arrows"], want["frames"]))
    if name == "loss" and got["dupacks"] < 3:
        problems.append("loss: %d duplicate ACKs marked; fast retransmit needs 3" % got["dupacks"])
    if name != "loss" and got["dupacks"] != 0:
        problems.append("%d duplicate ACKs marked in a run without loss" % got["dupacks"])
    if want["lost"] == 0 and name == "loss":
        problems.append("loss: the run lost nothing?")
    layers = ["L2 Ethernet II", "L3 IPv4 (RFC 791)", "L4 TCP (RFC 9293)"]
    if got["decoded"] != layers:
        problems.append("clicked frame decoded as %s, want %s" % (got["decoded"], layers))
    v = got["values"]
    for key, value in (("L3 source", "10.0.0.1"), ("L3 destination", "10.0.0.2"),
                       ("L4 destination port", "9"), ("L4 data offset, flags", "40 bytes, SYN"),
                       ("L4 option: MSS", "1460"), ("L4 option: SACK permitted", "")):
        if v.get(key) != value:
            problems.append("clicked SYN: %s is %r, want %r" % (key, v.get(key), value))
    if got["tsg_segments"] == 0 and name != "handshake":
        problems.append("no segments in the time-sequence graph")
    return problems


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    tapir = os.path.abspath(argv[1])
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="tapir-html.") as tmp:
        checks = [("sim " + n, lambda n=n: check_scenario(tapir, n, tmp)) for n in SCENARIOS]
        checks.append(("docs/pictures match the code", lambda: pictures.check(tapir, tmp)))
        for label, fn in checks:
            try:
                problems = fn()
            except (html_tool.Failure, subprocess.TimeoutExpired) as e:
                problems = [str(e)]
            if problems:
                failed += 1
                print("FAIL %s" % label)
                for p in problems:
                    print("    %s" % p)
            else:
                passed += 1
                print("PASS %s" % label)
    print("html: %d passed, %d failed" % (passed, failed))
    summary = os.environ.get("CHECK_SUMMARY")
    if summary:
        with open(summary, "a") as f:
            f.write("%d %d\n" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
