"""What the GPU test scripts print: one line per check, then 'N passed, M
failed', and their exit status (0 only if all passed)."""
import sys

_counts = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + (f"  {detail}" if detail else ""))
    _counts["passed" if ok else "failed"] += 1


def raises(name, exc, fn):
    """A check that fn() raises `exc` (of that kind, not another)."""
    try:
        fn()
    except exc as e:
        check(name, True, f"{type(e).__name__}: {e}")
        return
    except Exception as e:  # the wrong kind of error
        check(name, False, f"{type(e).__name__}: {e}")
        return
    check(name, False, "no error")


def finish():
    """Prints the counts and exits: 1 if any check failed."""
    print(f"{_counts['passed']} passed, {_counts['failed']} failed")
    sys.exit(1 if _counts["failed"] else 0)
