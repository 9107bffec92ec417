#!/usr/bin/env python3
"""tests/html/pictures.py generate|check PATH/TO/tapir - the screenshots in docs/pictures/.

Each picture in the docs is a screenshot, taken by headless Chromium, of a page that
`tapir sim SCENARIO --html FILE` wrote. Beside the PNGs, docs/pictures/SCENARIO.json keeps
the data behind them: the command, the run's data embedded in the page and a hash of the
page's code (apps/html_page.html).

  generate   run every command, take every screenshot, write the PNGs and the JSON
             (`make pictures`; needs chromium)
  check      run every command again and compare its data and the page's hash with the
             JSON: a picture never drifts from the code that draws it (make check)
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import html_tool  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DIR = os.path.join(REPO, "docs", "pictures")
PAGE = os.path.join(REPO, "apps", "html_page.html")

# scenario -> the pictures of its page: (file name, what html_tool.py shot draws)
PICTURES = {
    "arp": [("arp-ladder", "ladder")],
    "fragments": [("fragments-ladder", "ladder"), ("fragments-frame", "frame:4")],
    "handshake": [("handshake-ladder", "ladder"), ("handshake-syn", "frame:4"),
                  ("handshake-states", "fsm")],
    "loss": [("loss-ladder", "ladder"), ("loss-tsg", "tsg"), ("loss-cwnd", "cwnd")],
    "close": [("close-ladder", "ladder"), ("close-states", "fsm")],
}


def page_hash():
    with open(PAGE, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def record(tapir, scenario, tmp):
    page = os.path.join(tmp, scenario + ".html")
    subprocess.run([tapir, "sim", scenario, "--html", page], stdout=subprocess.DEVNULL,
                   check=True, timeout=60)
    return page, {"command": "build/tapir sim %s --html %s.html" % (scenario, scenario),
                  "pictures": [p[0] + ".png" for p in PICTURES[scenario]],
                  "page_sha256": page_hash(), "data": html_tool.run_data(page)}


def generate(tapir, tmp):
    os.makedirs(DIR, exist_ok=True)
    for scenario, shots in PICTURES.items():
        page, meta = record(tapir, scenario, tmp)
        for name, what in shots:
            html_tool.shot(page, what, os.path.join(DIR, name + ".png"))
            print("wrote docs/pictures/%s.png" % name)
        with open(os.path.join(DIR, scenario + ".json"), "w") as f:
            json.dump(meta, f, indent=1, sort_keys=True)
            f.write("\n")


def check(tapir, tmp):
    problems = []
    for scenario, shots in PICTURES.items():
        path = os.path.join(DIR, scenario + ".json")
        if not os.path.exists(path):
            problems.append("%s is missing: run make pictures" % path)
            continue
        with open(path) as f:
            kept = json.load(f)
        _, now = record(tapir, scenario, tmp)
        for key in ("data", "page_sha256", "pictures"):
            if kept[key] != now[key]:
                problems.append("docs/pictures/%s.json: the %s changed since the screenshots were "
                                "taken: run make pictures" % (scenario, key))
        for name, _ in shots:
            if not os.path.exists(os.path.join(DIR, name + ".png")):
                problems.append("docs/pictures/%s.png is missing: run make pictures" % name)
    return problems


def main(argv):
    if len(argv) != 3 or argv[1] not in ("generate", "check"):
        sys.stderr.write(__doc__)
        return 2
    tapir = os.path.abspath(argv[2])
    with tempfile.TemporaryDirectory(prefix="tapir-pictures.") as tmp:
        try:
            if argv[1] == "generate":
                generate(tapir, tmp)
                return 0
            problems = check(tapir, tmp)
        except html_tool.Failure as e:
            problems = [str(e)]
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
