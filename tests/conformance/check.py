#!/usr/bin/env python3
"""tests/conformance/check.py - the requirements table is true to the code and the tests.

    tests/conformance/check.py            check (make check runs this)
    tests/conformance/check.py --update   rewrite the tests column and docs/conformance.md

tests/conformance/requirements.tsv has one row per MUST/SHOULD of RFC 9293 Appendix B and of
RFC 1122's link, IP/ICMP and UDP summaries. A test names the rows it checks with a tag:

    /* conformance: MUST-18 MUST-19 */      above START_TEST(name) in tests/unit, tests/sim
    # conformance: MUST-30                  anywhere in a kernel test (the whole file checks it)

The check fails when
  - a row names code (file:function) that does not exist,
  - a tag names a row that does not exist, or is not followed by a test,
  - an implemented row has no test,
  - the tests column or docs/conformance.md differ from what the tags and rows give
    (run --update and commit).
It prints "conformance: N passed, M failed" (one per row, plus the generated files) and adds
the counts to $CHECK_SUMMARY like the other suites.
"""
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TABLE = "tests/conformance/requirements.tsv"
DOC = "docs/conformance.md"
COLUMNS = ["id", "rfc", "section", "level", "requirement", "status", "code", "tests", "note"]
STATUSES = {
    "implemented": "the code does it and a test fails if it stops",
    "untested": "the code does it, but no test checks it yet",
    "partly": "some of it (the note says what is missing)",
    "not implemented": "not done (yet); the note says why",
    "not applicable": "does not concern a host like tapir (no IPv6, no forwarding, ...)",
    "left out": "left out on purpose; the note gives the reason",
}
TAG = re.compile(r"conformance:\s*([A-Za-z0-9.\- ]+)")


def read_table():
    header, rows = [], []
    with open(os.path.join(ROOT, TABLE)) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                header.append(line)
                continue
            cells = line.split("\t")
            if cells == COLUMNS:
                continue
            cells += [""] * (len(COLUMNS) - len(cells))
            rows.append(dict(zip(COLUMNS, cells)))
    return header, rows


def write_table(header, rows):
    with open(os.path.join(ROOT, TABLE), "w") as f:
        for h in header:
            f.write(h + "\n")
        f.write("\t".join(COLUMNS) + "\n")
        for r in rows:
            f.write("\t".join(r[c] for c in COLUMNS) + "\n")


def collect_tags(errors):
    """{row id: [test, ...]} from the tags in tests/unit, tests/sim and tests/kernel."""
    tags = {}

    def add(ids, test):
        for i in ids.split():
            tags.setdefault(i, [])
            if test not in tags[i]:
                tags[i].append(test)

    for d in ("tests/unit", "tests/sim"):
        for name in sorted(os.listdir(os.path.join(ROOT, d))):
            if not name.endswith((".c", ".h")):
                continue
            path = f"{d}/{name}"
            pending = None
            with open(os.path.join(ROOT, path)) as f:
                for n, line in enumerate(f, 1):
                    m = TAG.search(line)
                    if m and ("/*" in line or "//" in line):
                        if pending:
                            errors.append(f"{path}:{pending[1]}: tag not followed by a test")
                        pending = (m.group(1), n)
                        continue
                    t = re.match(r"\s*START_TEST\((\w+)\)", line)
                    if t and pending:
                        add(pending[0], f"{path}:{t.group(1)}")
                        pending = None
            if pending:
                errors.append(f"{path}:{pending[1]}: tag not followed by a test")
    d = "tests/kernel"
    for name in sorted(os.listdir(os.path.join(ROOT, d))):
        if name.endswith(".sh"):
            with open(os.path.join(ROOT, d, name)) as f:
                for line in f:
                    m = TAG.search(line)
                    if m and line.lstrip().startswith("#"):
                        add(m.group(1), f"{d}/{name}")
    return tags


def function_defined(path, func):
    full = os.path.join(ROOT, path)
    if not os.path.isfile(full):
        return False
    with open(full) as f:
        text = f.read()
    # a definition or declaration: the name at the start of a line's declarator
    return re.search(r"^[A-Za-z_].*\b" + re.escape(func) + r"\(", text, re.M) is not None


def check_rows(rows, tags, errors):
    """One result per row: True when the row is sound."""
    ok = []
    ids = set()
    for r in rows:
        bad = []
        if r["id"] in ids:
            bad.append("duplicate id")
        ids.add(r["id"])
        if r["status"] not in STATUSES:
            bad.append(f"unknown status '{r['status']}'")
        for ref in r["code"].split():
            if ":" not in ref:
                bad.append(f"code '{ref}' is not file:function")
                continue
            path, func = ref.split(":", 1)
            if not function_defined(path, func):
                bad.append(f"code '{ref}': no such function in that file")
        tests = tags.get(r["id"], [])
        if r["status"] == "implemented" and not tests:
            bad.append("implemented but no test is tagged with it")
        if r["status"] in ("implemented", "untested", "partly") and not r["code"]:
            bad.append("names no code")
        if r["status"] in ("left out", "not applicable", "partly", "not implemented") and not r["note"]:
            bad.append("needs a note saying why")
        for b in bad:
            errors.append(f"{TABLE}: {r['id']}: {b}")
        ok.append(not bad)
    for i in tags:
        if i not in ids:
            errors.append(f"tag names no row: {i} (in {', '.join(tags[i])})")
    return ok


def md_escape(s):
    return s.replace("|", "\\|").replace("*", "\\*")


def render_doc(rows):
    out = []
    w = out.append
    w("# Conformance: RFC 9293 and RFC 1122, requirement by requirement")
    w("")
    w("<!-- generated by tests/conformance/check.py --update from tests/conformance/requirements.tsv;")
    w("     edit the table, not this file (make check fails when the two differ) -->")
    w("")
    w("Each MUST and SHOULD (and MUST NOT, SHOULD NOT) of the requirement summaries of")
    w("RFC 9293 (TCP, Appendix B) and RFC 1122 (2.5 link layer, 3.5 IP and ICMP, 4.1.5 UDP) has")
    w("a row here: what tapir does about it, where in the code, and which test fails when the")
    w("code stops doing it. Read it as a map: pick a requirement, open the function, run the")
    w("test. RFC 9293's own table replaces RFC 1122's TCP summary (4.2.5), so that one is not")
    w("repeated. RFC 9293 rows keep the RFC's ids (MUST-18); RFC 1122 has none, so its rows are")
    w("named by summary and section (IP-3.2.1.7-2 is the second row of section 3.2.1.7 in the")
    w("IP summary).")
    w("")
    w("A test names the rows it checks with a tag, `/* conformance: MUST-18 */` above a Check")
    w("test or `# conformance: MUST-18` in a kernel test; `make check` runs")
    w("`tests/conformance/check.py`, which fails when an implemented row has no test or a row")
    w("names a function that does not exist. `tests/conformance/mutate.sh` breaks the code one")
    w("line at a time and reports which breaks the tests catch.")
    w("")
    w("| status | meaning | rows |")
    w("|---|---|---|")
    for s, meaning in STATUSES.items():
        w(f"| {s} | {meaning} | {sum(1 for r in rows if r['status'] == s)} |")
    w("")
    w("Departures from the letter worth knowing (the first two come from RFCs these summaries")
    w("point to; MUST-19's row names them):")
    w("")
    w("- The initial congestion window is 10 segments (RFC 6928), above RFC 5681's")
    w("  \"MUST NOT be more than\" 3-4 segments; Linux does the same.")
    w("- The minimum RTO is 200 ms (Linux) where RFC 6298 says 1 s.")
    w("- Source routing is left out on purpose: RFC 7126 recommends dropping or ignoring")
    w("  source-routed datagrams, and Linux ships with `accept_source_route = 0`.")
    w("")
    groups = []
    for r in rows:
        key = ("RFC " + r["rfc"], r["section"] if r["rfc"] == "9293" else r["id"].split("-")[0])
        if not groups or groups[-1][0] != key:
            groups.append((key, []))
        groups[-1][1].append(r)
    names = {"LINK": "2.5 Link layer", "IP": "3.5 Internet layer (IP and ICMP)", "UDP": "4.1.5 UDP"}
    last_rfc = None
    for (rfc, sec), rs in groups:
        if rfc != last_rfc:
            w(f"## {rfc}" + (" Appendix B (TCP)" if rfc == "RFC 9293" else ""))
            w("")
            last_rfc = rfc
        w(f"### {names.get(sec, sec)}")
        w("")
        w("| id | level | requirement | status | code | tests | note |")
        w("|---|---|---|---|---|---|---|")
        for r in rs:
            code = " ".join(f"`{c}`" for c in r["code"].split())
            tests = " ".join(f"`{t}`" for t in r["tests"].split())
            req = md_escape(r["requirement"].lstrip("* ").strip())
            if r["rfc"] == "1122":
                req += f" ({r['section']})"
            w(f"| {r['id']} | {r['level']} | {req} | {r['status']} | {code} | {tests} | "
              f"{md_escape(r['note'])} |")
        w("")
    return "\n".join(out)


def main():
    update = "--update" in sys.argv[1:]
    errors = []
    header, rows = read_table()
    tags = collect_tags(errors)
    for r in rows:
        r["tests"] = " ".join(sorted(tags.get(r["id"], [])))
    ok = check_rows(rows, tags, errors)
    doc = render_doc(rows) + "\n"
    _, on_disk = read_table()
    table_fresh = [r["tests"] for r in on_disk] == [r["tests"] for r in rows]
    doc_path = os.path.join(ROOT, DOC)
    doc_fresh = os.path.isfile(doc_path) and open(doc_path).read() == doc
    if update:
        write_table(header, rows)
        with open(doc_path, "w") as f:
            f.write(doc)
        table_fresh = doc_fresh = True
    if not table_fresh:
        errors.append(f"{TABLE}: the tests column differs from the tags: run {sys.argv[0]} --update")
    if not doc_fresh:
        errors.append(f"{DOC} is stale: run {sys.argv[0]} --update")
    for e in errors:
        print("conformance: FAIL " + e)
    passed = sum(ok) + table_fresh + doc_fresh
    failed = len(errors)
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in STATUSES}
    print("conformance: rows " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    print(f"conformance: {passed} passed, {failed} failed")
    summary = os.environ.get("CHECK_SUMMARY")
    if summary:
        with open(summary, "a") as f:
            f.write(f"{passed} {failed}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
