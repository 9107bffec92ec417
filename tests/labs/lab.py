#!/usr/bin/env python3
"""tests/labs/lab.py - labs: students write marked parts of the stack, the tests grade them.

  lab.py list                          the labs, one a line (name first)
  lab.py start LAB DIR                 DIR: a fresh git repository, LAB's marked bodies stubbed
  lab.py branch LAB BRANCH             the same as a new branch of this repository (from HEAD)
  lab.py grade LAB [--build B] [--no-kernel]
                                       build and run LAB's tests; last line `grade: P/T`
  lab.py prove [--tapir T] [LAB...]    for every lab: markers sound, stub builds and scores 0,
                                       a partial answer scores partly, the reference scores all;
                                       with --tapir (and no LAB) also the handouts' commands
  lab.py discover LAB                  (for authors) tests that pass here and fail on LAB's stub

The reference code marks what a lab takes away with two comments on lines of their own,
around a whole function body:

    int eth_parse(const uint8_t *b, size_t len, struct eth_hdr *h)
    {
        /* LAB eth: begin */
        ...
        /* LAB eth: end */
    }

tests/labs/labs.txt names every lab, its graded tests and the hint each test prints when it
fails. docs/labs/README.md is the student's and teacher's side of all this.
"""
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TABLE = os.path.join(HERE, "labs.txt")
SOURCE_DIRS = ("stack", "apps", "tap")

BEGIN = re.compile(r"^(\s*)/\* LAB ([a-z0-9_-]+): begin \*/\s*$")
END = re.compile(r"^(\s*)/\* LAB ([a-z0-9_-]+): end \*/\s*$")
ANY_MARKER = re.compile(r"/\*\s*LAB\b")


class LabError(Exception):
    pass


# ---- the lab table -------------------------------------------------------------------------


class Lab:
    def __init__(self, name, number, title):
        self.name, self.number, self.title = name, number, title
        self.refs = ""  # RFC sections and lesson, for the stub's TODO
        self.partial = []  # the functions a partial answer restores
        self.returns = {}  # function -> what its stub returns, where 0 would mislead
        self.tests = []  # (kind, program, test, hint); kind unit|sim|kernel

    @property
    def handout(self):
        return "docs/labs/%s-%s.md" % (self.number, self.name)


def read_table(path=TABLE):
    labs = {}
    order = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            words = line.split(None, 2)
            where = "%s:%d" % (os.path.relpath(path, REPO), lineno)
            if len(words) < 3:
                raise LabError("%s: too few fields" % where)
            kind, name, rest = words
            if kind == "lab":
                number, title = rest.split(None, 1)
                labs[name] = Lab(name, number, title)
                order.append(name)
                continue
            if name not in labs:
                raise LabError("%s: lab '%s' is not declared by a 'lab' line above" % (where, name))
            lab = labs[name]
            if kind == "refs":
                lab.refs = rest
            elif kind == "stub":
                func, value = rest.split(None, 1)
                lab.returns[func] = value.strip()
            elif kind == "partial":
                lab.partial = rest.split()
            elif kind in ("unit", "sim"):
                program, test, hint = (rest.split(None, 2) + ["", ""])[:3]
                if not hint:
                    raise LabError("%s: test '%s' has no hint" % (where, test))
                program, _, tcase = program.partition("/")  # PROGRAM/TCASE runs one case
                lab.tests.append((kind, "tests/%s/%s" % (kind, program), test, hint, tcase or None))
            elif kind == "kernel":
                script, hint = (rest.split(None, 1) + [""])[:2]
                lab.tests.append((kind, script, script, hint, None))
            else:
                raise LabError("%s: unknown line kind '%s'" % (where, kind))
    return [labs[n] for n in order]


def find_lab(labs, name):
    for lab in labs:
        if lab.name == name:
            return lab
    hint = ""
    if name.startswith("tapir-"):
        # LAB also names the lab namespace (tap/lab, make run): an exported LAB=tapir-ann
        # reaches make grade when the command line gives none
        hint = "; '%s' looks like a lab namespace: give the exercise, e.g. make grade LAB=%s" % (
            name, labs[0].name)
    raise LabError("unknown lab '%s' (one of: %s)%s" % (name, " ".join(l.name for l in labs), hint))


# ---- markers -------------------------------------------------------------------------------


class Region:
    """One marked function body: lines[begin] is the begin marker, lines[end] the end."""

    def __init__(self, path, lab, begin, end, func, rtype, indent):
        self.path, self.lab, self.begin, self.end = path, lab, begin, end
        self.func, self.rtype, self.indent = func, rtype, indent


def source_files(root):
    out = []
    for d in SOURCE_DIRS:
        full = os.path.join(root, d)
        if not os.path.isdir(full):
            continue
        for name in sorted(os.listdir(full)):
            if name.endswith(".c") or name.endswith(".h"):
                out.append(os.path.join(d, name))
    return out


def function_header(lines, brace, path):
    """The function whose body opens at lines[brace] == '{': (name, return type)."""
    if lines[brace].rstrip() != "{":
        raise LabError("%s:%d: a LAB begin marker must be the first line of a function body"
                       % (path, brace + 2))
    i = brace - 1
    while i >= 0 and lines[i][:1] in (" ", "\t"):
        i -= 1
    header = " ".join(l.strip() for l in lines[i:brace])
    m = re.match(r"^(.*?)\b([A-Za-z_]\w*)\s*\(", header)
    if i < 0 or not m:
        raise LabError("%s:%d: cannot read the function header above the LAB marker" % (path, brace + 1))
    rtype = re.sub(r"\b(static|inline)\b", "", m.group(1)).strip()
    return m.group(2), rtype


def scan(root, known=None):
    """Every marked region in the tree at root; LabError on any drift."""
    regions = []
    for path in source_files(root):
        with open(os.path.join(root, path)) as f:
            lines = f.read().split("\n")
        open_region = None
        for n, line in enumerate(lines):
            b, e = BEGIN.match(line), END.match(line)
            if not b and not e:
                if ANY_MARKER.search(line):
                    raise LabError("%s:%d: malformed LAB marker (write /* LAB name: begin */ or "
                                   "/* LAB name: end */ on a line of its own)" % (path, n + 1))
                continue
            where = "%s:%d" % (path, n + 1)
            if b:
                if open_region:
                    raise LabError("%s: LAB %s begins inside LAB %s (opened at line %d)"
                                   % (where, b.group(2), open_region[0], open_region[1] + 1))
                if known is not None and b.group(2) not in known:
                    raise LabError("%s: unknown lab '%s' (not in tests/labs/labs.txt)" % (where, b.group(2)))
                open_region = (b.group(2), n, b.group(1))
                continue
            if not open_region:
                raise LabError("%s: LAB %s ends but never began" % (where, e.group(2)))
            if e.group(2) != open_region[0]:
                raise LabError("%s: LAB %s ends, but LAB %s is open" % (where, e.group(2), open_region[0]))
            if n + 1 >= len(lines) or lines[n + 1].rstrip() != "}":
                raise LabError("%s: a LAB end marker must be the last line of a function body" % where)
            func, rtype = function_header(lines, open_region[1] - 1, path)
            regions.append(Region(path, open_region[0], open_region[1], n, func, rtype, open_region[2]))
            open_region = None
        if open_region:
            raise LabError("%s:%d: LAB %s begins but never ends" % (path, open_region[1] + 1, open_region[0]))
    return regions


# ---- stubs ---------------------------------------------------------------------------------


def stub_return(rtype):
    if rtype == "void":
        return None
    if "*" in rtype:
        return "NULL"
    if rtype == "bool":
        return "false"
    if rtype in ("int", "long", "ssize_t"):
        return "-ENOSYS"
    return "0"


def static_names(text):
    """Names of the file-scope static functions and variables defined in text."""
    names = set()
    for line in text.split("\n"):
        if not line.startswith("static "):
            continue
        m = re.match(r"^static\b[^(=;]*?\b([A-Za-z_]\w*)\s*(\(|\[|=|;)", line)
        if m:
            names.add(m.group(1))
    return names


CODE_NOISE = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)


def code_only(text):
    """text without comments and string or character literals."""
    return CODE_NOISE.sub(" ", text)


def stub_file(root, path, regions, lab, keep=()):
    """Rewrite root/path with LAB's regions stubbed (except the functions in keep)."""
    full = os.path.join(root, path)
    with open(full) as f:
        text = f.read()
    lines = text.split("\n")
    mine = [r for r in regions if r.path == path and r.lab == lab.name and r.func not in keep]
    if not mine:
        return False
    statics = static_names(text)
    bodies = {}
    out_lines = list(lines)
    for r in sorted(mine, key=lambda r: r.begin, reverse=True):
        bodies[r.func] = "\n".join(lines[r.begin + 1:r.end])
        out_lines[r.begin + 1:r.end] = ["@@STUB %d@@" % mine.index(r)]
    # helpers only the removed bodies used: reference them so the stub still builds (-Werror)
    rest = code_only("\n".join(out_lines))
    helpers = {}
    for name in sorted(statics):
        if len(re.findall(r"\b%s\b" % re.escape(name), rest)) > 1:
            continue
        for r in mine:
            if re.search(r"\b%s\b" % re.escape(name), code_only(bodies[r.func])):
                helpers.setdefault(r.func, []).append(name)
                break
    result = []
    for line in out_lines:
        m = re.match(r"^@@STUB (\d+)@@$", line)
        if not m:
            result.append(line)
            continue
        r = mine[int(m.group(1))]
        ind = r.indent
        result.append("%s/* TODO(lab %s): write %s(). %s. Handout: %s */"
                      % (ind, lab.name, r.func, lab.refs, lab.handout))
        result.append('%slab_not_implemented("%s", __func__);' % (ind, lab.name))
        if r.func in helpers:
            result.append("%s/* helpers in this file you may use: */" % ind)
            for h in helpers[r.func]:
                result.append("%s(void)%s;" % (ind, h))
        ret = lab.returns.get(r.func) or stub_return(r.rtype)
        if ret:
            result.append("%sreturn %s;" % (ind, ret))
    text = "\n".join(result)
    include = '#include "%s"' % os.path.relpath("stack/lab.h", os.path.dirname(path))
    if include not in text:
        incs = [i for i, l in enumerate(result) if l.startswith("#include")]
        if not incs:
            raise LabError("%s: no #include line to put lab.h after" % path)
        at = incs[-1]
        text = "\n".join(result[:at + 1] + [include] + result[at + 1:])
    with open(full, "w") as f:
        f.write(text)
    return True


def tree_files(repo):
    out = subprocess.run(["git", "-C", repo, "ls-files", "-z", "-c", "-o", "--exclude-standard"],
                         check=True, capture_output=True).stdout.decode()
    return [p for p in out.split("\0") if p and os.path.isfile(os.path.join(repo, p))]


def stub_tree(root, lab, keep=()):
    regions = scan(root, known={l.name for l in read_table()})
    if not any(r.lab == lab.name for r in regions):
        raise LabError("lab %s has no marked regions in the code" % lab.name)
    for path in sorted({r.path for r in regions if r.lab == lab.name}):
        stub_file(root, path, regions, lab, keep)


def git(args, cwd, quiet=True):
    ident = []
    if subprocess.run(["git", "config", "user.email"], cwd=cwd, capture_output=True).returncode:
        ident = ["-c", "user.name=tapir lab", "-c", "user.email=lab@tapir.invalid"]
    return subprocess.run(["git"] + ident + args, cwd=cwd, check=True,
                          capture_output=quiet)


def start(lab, dest, use_git=True):
    if os.path.exists(dest) and os.listdir(dest):
        raise LabError("%s exists and is not empty" % dest)
    os.makedirs(dest, exist_ok=True)
    for p in tree_files(REPO):
        os.makedirs(os.path.join(dest, os.path.dirname(p)), exist_ok=True)
        shutil.copy2(os.path.join(REPO, p), os.path.join(dest, p))
    stub_tree(dest, lab)
    if use_git:
        git(["init", "-q"], dest)
        git(["add", "-A"], dest)
        git(["commit", "-q", "-m", "lab %s: start (%s)" % (lab.name, lab.title)], dest)


def branch(lab, name):
    tmp = tempfile.mkdtemp(prefix="tapir-lab-branch-")
    wt = os.path.join(tmp, "tree")
    try:
        git(["worktree", "add", "-q", "-b", name, wt, "HEAD"], REPO)
        stub_tree(wt, lab)
        git(["commit", "-q", "-a", "-m", "lab %s: start (%s)" % (lab.name, lab.title)], wt)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", wt], cwd=REPO, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


# ---- grading -------------------------------------------------------------------------------

TAP_LINE = re.compile(r"^(ok|not ok) \d+ - [^:]*:[^:]*:([^:]+):\s*(.*)$")


def build(root, build_dir, targets, opt=None):
    cmd = ["make", "--no-print-directory", "-j2", "BUILD=" + build_dir]
    if opt:
        cmd.append("OPT=" + opt)
    p = subprocess.run(cmd + targets, cwd=root, capture_output=True, text=True)
    return p.returncode == 0, p.stdout + p.stderr


# A stub can make two stacks answer each other forever (an ACK for every unacceptable
# segment): the tests' own time limits end that, scaled down so a stub grades quickly.
TIMEOUT_MULTIPLIER = os.environ.get("LAB_TIMEOUT_MULTIPLIER", "0.25")


def run_program(root, binary, tcase=None):
    """{test name: (passed, message)} from one Check program (only TCASE, if given)."""
    fd, log = tempfile.mkstemp(prefix="tapir-grade-", suffix=".tap")
    os.close(fd)
    env = dict(os.environ, CK_FORK="yes", CK_TAP_LOG_FILE_NAME=log,
               CK_TIMEOUT_MULTIPLIER=TIMEOUT_MULTIPLIER)
    env.pop("CK_RUN_SUITE", None)
    env.pop("CK_RUN_CASE", None)
    if tcase:
        env["CK_RUN_CASE"] = tcase
    try:
        subprocess.run([binary], cwd=root, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=600)
    except subprocess.TimeoutExpired:
        pass
    results = {}
    with open(log) as f:
        for line in f:
            m = TAP_LINE.match(line.rstrip("\n"))
            if m:  # a loop test reports once per iteration: every one must pass
                ok = m.group(1) == "ok"
                before = results.get(m.group(2), (True, ""))
                results[m.group(2)] = (before[0] and ok, m.group(3) if not ok else before[1])
    os.unlink(log)
    return results


def run_kernel(root, build_dir, script):
    name = re.sub(r"^test_|\.sh$", "", script)
    p = subprocess.run(["tests/kernel/run.sh", os.path.join(build_dir, "tapir"), name], cwd=root,
                       capture_output=True, text=True)
    first = next((l for l in p.stdout.split("\n") if l.startswith(("PASS", "FAIL"))), "")
    return p.returncode == 0, first


def grade(root, lab, build_dir="build", opt=None, kernel=True, out=sys.stdout):
    """Print LAB's grade for the tree at root; return (passed, total)."""
    unit_sim = [t for t in lab.tests if t[0] != "kernel"]
    kernel_tests = [t for t in lab.tests if t[0] == "kernel"]
    as_root = os.geteuid() == 0
    run_kernel_tests = kernel and as_root and kernel_tests
    programs = sorted({t[1] for t in unit_sim})
    targets = [os.path.join(build_dir, p) for p in programs]
    if run_kernel_tests:
        targets.append(os.path.join(build_dir, "tapir"))
    total = len(unit_sim) + (len(kernel_tests) if run_kernel_tests else 0)
    print("grade: lab %s - %s (%s), %d tests" % (lab.name, lab.title, lab.handout, total), file=out)
    ok, log = build(root, build_dir, targets, opt)
    if not ok:
        print(log.rstrip(), file=out)
        print("grade: the tree does not build (the compiler's messages are above)", file=out)
        print("grade: 0/%d" % total, file=out)
        return 0, total
    results = {}
    for p, tcase in sorted({(t[1], t[4] or "") for t in unit_sim}):
        results[p, tcase] = run_program(root, os.path.join(root, build_dir, p), tcase)
    passed = 0
    for kind, program, test, hint, tcase in unit_sim:
        got = results[program, tcase or ""].get(test)
        name = "%s %s" % (program.replace("tests/", ""), test)
        if got and got[0]:
            passed += 1
            print("PASS %s" % name, file=out)
            continue
        print("FAIL %s" % name, file=out)
        print("     hint: %s" % hint, file=out)
        if got is None:
            print("     check: the test did not run (its program crashed, or the test is gone)", file=out)
        elif got[1]:
            print("     check: %s" % got[1][:200], file=out)
    for kind, script, _, hint, _ in kernel_tests:
        if not run_kernel_tests:
            why = "needs root: sudo make grade LAB=%s" % lab.name if not as_root else "KERNEL=no"
            print("SKIP kernel %s (%s)" % (script, why), file=out)
            continue
        ok, line = run_kernel(root, build_dir, script)
        if ok:
            passed += 1
            print("PASS kernel %s" % script, file=out)
        else:
            print("FAIL kernel %s" % script, file=out)
            print("     hint: %s" % hint, file=out)
            if line:
                print("     kernel: %s" % line[:200], file=out)
    skipped = len(kernel_tests) - (len(kernel_tests) if run_kernel_tests else 0)
    if skipped:
        print("grade: skipped %d kernel test%s (%s)" % (skipped, "" if skipped == 1 else "s",
              "they need root" if not as_root else "KERNEL=no"), file=out)
    print("grade: %d/%d" % (passed, total), file=out)
    return passed, total


# ---- proving every lab (make check) --------------------------------------------------------

PROVE_BUILD = "build-labs"
PROVE_OPT = "-O1 -g"


def copy_build(src_root, dest_root):
    src = os.path.join(src_root, PROVE_BUILD)
    shutil.copytree(src, os.path.join(dest_root, PROVE_BUILD), copy_function=shutil.copy2,
                    symlinks=True)


# prove_lab runs two labs at a time; both grade the reference in the same REPO/build-labs,
# and one make relinking a test program while the other thread runs it fails with ETXTBSY.
REFERENCE_LOCK = threading.Lock()


def prove_lab(lab, keep_dirs):
    """[(ok, message)] for one lab; the stub and partial trees live in a temp directory."""
    import io
    report = []
    tmp = tempfile.mkdtemp(prefix="tapir-lab-%s-" % lab.name)
    try:
        tree = os.path.join(tmp, "tree")
        start(lab, tree)
        copy_build(REPO, tree)
        buf = io.StringIO()
        p, t = grade(tree, lab, PROVE_BUILD, PROVE_OPT, kernel=False, out=buf)
        text = buf.getvalue()
        passing = [l[5:] for l in text.split("\n") if l.startswith("PASS ")]
        if "does not build" in text:
            report.append((False, "%s: the stub tree does not build:\n%s" % (lab.name, text)))
        elif p != 0:
            report.append((False, "%s: on the stub %d/%d tests pass (each must fail: the grading "
                           "cannot catch an empty answer): %s" % (lab.name, p, t, ", ".join(passing))))
        elif "FAIL" in text and "hint:" not in text:
            report.append((False, "%s: a failing test printed no hint" % lab.name))
        else:
            report.append((True, "%s: the stub builds and scores 0/%d" % (lab.name, t)))
        # a partial answer: the stub with one function's reference body put back
        if lab.partial:
            for path in sorted({r.path for r in scan(REPO) if r.lab == lab.name}):
                shutil.copy(os.path.join(REPO, path), os.path.join(tree, path))  # newer: rebuilt
            stub_tree(tree, lab, keep=lab.partial)
            buf = io.StringIO()
            pp, tt = grade(tree, lab, PROVE_BUILD, PROVE_OPT, kernel=False, out=buf)
            good = 0 < pp < tt
            report.append((good, "%s: with only %s written it scores %d/%d%s"
                           % (lab.name, ", ".join(f + "()" for f in lab.partial), pp, tt,
                              "" if good else " (a partial answer must score partly)")))
        else:
            report.append((False, "%s: no 'partial' line in tests/labs/labs.txt" % lab.name))
        buf = io.StringIO()
        with REFERENCE_LOCK:
            p, t = grade(REPO, lab, PROVE_BUILD, PROVE_OPT, kernel=False, out=buf)
        if p == t and t > 0:
            report.append((True, "%s: the reference scores %d/%d" % (lab.name, p, t)))
        else:
            report.append((False, "%s: the reference scores %d/%d:\n%s" % (lab.name, p, t, buf.getvalue())))
    except (LabError, subprocess.CalledProcessError, OSError) as e:
        report.append((False, "%s: %s" % (lab.name, e)))
    finally:
        if keep_dirs:
            print("prove: kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return report


def lint(labs):
    """Markers and table agree: [(ok, message)]."""
    report = []
    names = {l.name for l in labs}
    try:
        regions = scan(REPO, known=names)
    except LabError as e:
        return [(False, "markers: %s" % e)]
    report.append((True, "markers: %d regions, balanced, every name known" % len(regions)))
    report.extend(drift_is_caught(labs, regions))
    for lab in labs:
        funcs = [r.func for r in regions if r.lab == lab.name]
        if not funcs:
            report.append((False, "%s: no marked region in the code" % lab.name))
        for f in lab.partial:
            if f not in funcs:
                report.append((False, "%s: partial names %s(), which the lab does not mark" % (lab.name, f)))
        if not os.path.exists(os.path.join(REPO, lab.handout)):
            report.append((False, "%s: no handout %s" % (lab.name, lab.handout)))
        if not [t for t in lab.tests if t[0] != "kernel"]:
            report.append((False, "%s: no unit or sim test graded" % lab.name))
    return report


def check_handouts(labs, tapir):
    """The handouts' console blocks run and match (tests/lessons/check.sh): [(ok, message)]."""
    files = [lab.handout for lab in labs if os.path.exists(os.path.join(REPO, lab.handout))]
    files.append("docs/labs/README.md")
    p = subprocess.run(["tests/lessons/check.sh", "--tapir", tapir, "--skip-lab"] + files, cwd=REPO,
                       capture_output=True, text=True)
    report = []
    lines = p.stdout.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("PASS "):
            report.append((True, "handout " + line[5:]))
        elif line.startswith("FAIL "):
            detail = []
            for more in lines[i + 1:]:
                if not more.startswith("    "):
                    break
                detail.append(more)
            report.append((False, "handout " + line[5:] + "\n" + "\n".join(detail)))
    if p.returncode != 0 and all(ok for ok, _ in report):
        report.append((False, "handouts: tests/lessons/check.sh failed:\n" + p.stdout + p.stderr))
    return report


def show(report):
    for ok, msg in report:
        print("%s %s" % ("PASS" if ok else "FAIL", msg), flush=True)


def drift_is_caught(labs, regions):
    """[(ok, message)]: markers that drift from the code are refused (a copy of one file)."""
    r = regions[0]
    with open(os.path.join(REPO, r.path)) as f:
        lines = f.read().split("\n")
    begin, end = lines[r.begin], lines[r.end]
    drifts = {
        "an end marker lost": lines[:r.end] + lines[r.end + 1:],
        "an unknown lab name": lines[:r.begin] + [begin.replace(r.lab + ":", "nosuchlab:")] + lines[r.begin + 1:],
        "a begin marker inside the body": lines[:r.begin] + lines[r.begin + 1:r.begin + 2] + [begin]
        + lines[r.begin + 2:],
        "a misspelt marker": lines[:r.end] + [end.replace("end", "ends")] + lines[r.end + 1:],
    }
    report = []
    tmp = tempfile.mkdtemp(prefix="tapir-lab-drift-")
    try:
        os.makedirs(os.path.join(tmp, os.path.dirname(r.path)))
        for what, text in drifts.items():
            with open(os.path.join(tmp, r.path), "w") as f:
                f.write("\n".join(text))
            try:
                scan(tmp, known={l.name for l in labs})
                report.append((False, "markers: %s in %s went unnoticed" % (what, r.path)))
            except LabError:
                report.append((True, "markers: %s is caught" % what))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return report


def prove(names, keep_dirs=False, tapir=None):
    labs = read_table()
    chosen = [find_lab(labs, n) for n in names] if names else labs
    report = lint(labs)
    show(report)
    if report[0][0]:  # the markers scan cleanly
        programs = sorted({t[1] for lab in chosen for t in lab.tests if t[0] != "kernel"})
        ok, log = build(REPO, PROVE_BUILD, [os.path.join(PROVE_BUILD, p) for p in programs], PROVE_OPT)
        if not ok:
            report.append((False, "the reference does not build:\n" + log))
        else:
            with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
                for r in pool.map(lambda l: prove_lab(l, keep_dirs), chosen):
                    report.extend(r)
                    show(r)
    if tapir and not names:
        handouts = check_handouts(labs, tapir)
        report.extend(handouts)
        show(handouts)
    passed = sum(1 for ok, _ in report if ok)
    failed = len(report) - passed
    print("labs: %d passed, %d failed" % (passed, failed))
    summary = os.environ.get("CHECK_SUMMARY")
    if summary:
        with open(summary, "a") as f:
            f.write("%d %d\n" % (passed, failed))
    return failed == 0


def discover(lab):
    """Tests that pass on the reference and fail on LAB's stub (for writing labs.txt)."""
    unit = sorted(os.path.join("tests/unit", f[:-2]) for f in os.listdir(os.path.join(REPO, "tests/unit"))
                  if f.startswith("test_") and f.endswith(".c"))
    sim = sorted(os.path.join("tests/sim", f[:-2]) for f in os.listdir(os.path.join(REPO, "tests/sim"))
                 if f.startswith("test_") and f.endswith(".c") and "scenarios" not in f)
    ok, log = build(REPO, PROVE_BUILD, [os.path.join(PROVE_BUILD, p) for p in unit + sim], PROVE_OPT)
    if not ok:
        raise LabError(log)
    tmp = tempfile.mkdtemp(prefix="tapir-lab-discover-")
    try:
        tree = os.path.join(tmp, "tree")
        start(lab, tree, use_git=False)
        copy_build(REPO, tree)
        ok, log = build(tree, PROVE_BUILD, [os.path.join(PROVE_BUILD, p) for p in unit + sim], PROVE_OPT)
        if not ok:
            raise LabError(log)
        for p in unit + sim:
            ref = run_program(REPO, os.path.join(REPO, PROVE_BUILD, p))
            stub = run_program(tree, os.path.join(tree, PROVE_BUILD, p))
            for test, (good, _) in ref.items():
                if good and not stub.get(test, (False, ""))[0]:
                    print("%s %s %s" % (p.split("/")[1], p.split("/")[2], test))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    cmd, args = argv[0], argv[1:]
    try:
        labs = read_table()
        if cmd == "list":
            for lab in labs:
                print("%-10s %-26s %s" % (lab.name, lab.handout, lab.title))
            return 0
        if cmd == "start" and len(args) == 2:
            start(find_lab(labs, args[0]), os.path.abspath(args[1]))
            print("lab %s: a fresh repository in %s; next: cd %s && make grade LAB=%s"
                  % (args[0], args[1], args[1], args[0]))
            return 0
        if cmd == "branch" and len(args) == 2:
            branch(find_lab(labs, args[0]), args[1])
            print("lab %s: branch %s (from HEAD); next: git switch %s && make grade LAB=%s"
                  % (args[0], args[1], args[1], args[0]))
            return 0
        if cmd == "grade" and args:
            build_dir, kernel, opt = "build", True, None
            rest = args[1:]
            while rest:
                if rest[0] == "--build" and len(rest) > 1:
                    build_dir, rest = rest[1], rest[2:]
                elif rest[0] == "--opt" and len(rest) > 1:
                    opt, rest = rest[1], rest[2:]
                elif rest[0] == "--no-kernel":
                    kernel, rest = False, rest[1:]
                else:
                    raise LabError("grade: unknown option '%s'" % rest[0])
            grade(os.getcwd(), find_lab(labs, args[0]), build_dir, opt, kernel)
            return 0
        if cmd == "prove":
            keep, tapir, names = False, None, []
            while args:
                if args[0] == "--keep":
                    keep, args = True, args[1:]
                elif args[0] == "--tapir" and len(args) > 1:
                    tapir, args = args[1], args[2:]
                else:
                    names, args = names + [args[0]], args[1:]
            return 0 if prove(names, keep, tapir) else 1
        if cmd == "discover" and len(args) == 1:
            discover(find_lab(labs, args[0]))
            return 0
    except LabError as e:
        print("lab: %s" % e, file=sys.stderr)
        return 2
    print("lab: usage: see tests/labs/lab.py --help", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
