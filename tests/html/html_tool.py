#!/usr/bin/env python3
"""tests/html/html_tool.py - open a page written by `tapir ... --html FILE` in headless Chromium.

  html_tool.py selftest FILE.html        open FILE.html#selftest; print what the page drew
                                          (JSON: arrows, lost and retransmission marks, the
                                          decoded frame, the highlighted state transitions);
                                          fail on any console message or JavaScript error
  html_tool.py data FILE.html            print the run's data embedded in the page (JSON)
  html_tool.py shot FILE.html WHAT OUT.png   a screenshot of one picture (WHAT: ladder, tsg,
                                          cwnd, fsm or frame:N), cut to its height

Standard library only. Every Chromium run is bounded (CHROMIUM_TIMEOUT seconds, 60).
"""
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

TIMEOUT = int(os.environ.get("CHROMIUM_TIMEOUT", "60"))
WIDTH = 1500


class Failure(Exception):
    pass


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise Failure("no chromium: install the Debian package 'chromium' (tests/tools.sh test)")


def chromium(args, url):
    """Run headless Chromium once on url; returns (stdout, stderr)."""
    profile = tempfile.mkdtemp(prefix="tapir-chromium.")
    cmd = [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", "--hide-scrollbars", "--user-data-dir=" + profile,
           "--enable-logging=stderr", "--v=0", ] + args + [url]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Failure("chromium did not finish within %d s" % TIMEOUT)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def file_url(path, fragment):
    return "file://" + os.path.abspath(path) + fragment


def console_messages(stderr):
    """Console output and uncaught errors of the page, as Chromium logs them."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


def selftest(path):
    text = open(path, encoding="utf-8").read()
    if re.search("http", text, re.IGNORECASE):
        raise Failure("%s mentions http: the page must reference nothing outside itself" % path)
    dom, err = chromium(["--dump-dom"], file_url(path, "#selftest"))
    messages = console_messages(err)
    if messages:
        raise Failure("console messages from the page: " + " | ".join(messages[:3]))
    m = re.search(r"SELFTEST (\{.*?\})</pre>", dom)
    if not m:
        raise Failure("the page wrote no self-test result (did its script run?)")
    result = json.loads(html.unescape(m.group(1)))
    if result["errors"]:
        raise Failure("JavaScript errors: %s" % result["errors"])
    return result


def run_data(path):
    text = open(path, encoding="utf-8").read()
    m = re.search(r'<script type="application/json" id="run-data">(.*?)</script>', text, re.S)
    if not m:
        raise Failure("%s holds no run data" % path)
    return json.loads(m.group(1))


def shot(path, what, out):
    width = WIDTH + 250 if what.startswith("frame:") else WIDTH  # the ladder and the decoded frame
    dom, _ = chromium(["--dump-dom", "--window-size=%d,1000" % width], file_url(path, "#shot=" + what))
    m = re.search(r'data-height="(\d+)"', dom)
    if not m:
        raise Failure("the page did not draw '%s'" % what)
    height = min(int(m.group(1)), 6000)
    chromium(["--screenshot=" + os.path.abspath(out), "--window-size=%d,%d" % (width, height)],
             file_url(path, "#shot=" + what))
    if not os.path.exists(out):
        raise Failure("chromium wrote no screenshot %s" % out)


def main(argv):
    try:
        if len(argv) == 3 and argv[1] == "selftest":
            print(json.dumps(selftest(argv[2]), indent=1))
        elif len(argv) == 3 and argv[1] == "data":
            print(json.dumps(run_data(argv[2]), indent=1, sort_keys=True))
        elif len(argv) == 5 and argv[1] == "shot":
            shot(argv[2], argv[3], argv[4])
        else:
            sys.stderr.write(__doc__)
            return 2
    except Failure as e:
        print("html_tool: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
