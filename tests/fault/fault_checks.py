"""Shared by the fault test scripts: soft checks that are counted, and the end-of-run verdict."""
import os
import shutil
import sys
import tempfile

HANG_GUARD = 120  # seconds: a run that takes longer than this is hung, not slow

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAILED:", what, flush=True)


def verdict(work, name):
    """Exit status for the script: 0 (and `work` removed) when every check passed."""
    if failures:
        print(f"{len(failures)} check(s) failed; files kept in {work}")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print(f"all {name} checks passed")
    return 0


def setup(prefix):
    """(sgrun, model, scratch folder) from argv; exits 77 (ctest: skipped) without the model."""
    sgrun, model = sys.argv[1], sys.argv[2]
    if not os.path.exists(model):
        print("model not fetched (make model); skipped")
        sys.exit(77)
    return sgrun, model, tempfile.mkdtemp(prefix=prefix)
