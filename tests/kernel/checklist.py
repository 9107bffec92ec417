"""checklist.py - the checks run_client.py and run_udp.py make on tapir: each prints
"ok NAME" or "FAIL NAME: why", and the failures are counted for the exit status."""
import errno


class Checklist:
    def __init__(self):
        self.failures = 0

    def check(self, name, fn):
        try:
            fn()
            print("ok", name, flush=True)
        except Exception as e:  # noqa: BLE001 - any surprise is a failure to report
            self.failures += 1
            print("FAIL %s: %r" % (name, e), flush=True)


def expect_errno(code, fn):
    """fn() must fail with OSError `code` (Linux's errno for the same call)."""
    try:
        fn()
    except OSError as e:
        if e.errno != code:
            raise AssertionError("errno %s, expected %s" % (errno.errorcode.get(e.errno), errno.errorcode[code]))
        return
    raise AssertionError("no error, expected %s" % errno.errorcode[code])
