#!/usr/bin/env python3
"""Fault tests of `sgrun run --batch` on the default model, driven through the real binary.

1. An extern that fails for one line mid-batch: that line's record holds the error, every other
   line's output equals the clean run's.
2. SIGINT while lines sit in an extern command, then SIGTERM while lines are generating: each
   time sgrun exits with 128+signal and a one-line message naming --resume, and the output file
   is valid JSONL holding every finished record (and nothing else).
3. `--resume` runs only the lines without a record; the final file has one record per input
   line, equal to the uninterrupted run.

usage: batch_signal_test.py SGRUN MODEL   (exit 77 = skipped: no model file)
"""
import json
import os
import signal
import subprocess
import sys
import time

from fault_checks import HANG_GUARD, check, setup, verdict

PROGRAM = """extern fn pause(n)

fn main(n, tokens = 8) {
  "Here is one fact about the number {n}:"
  gen fact(max_tokens: tokens, temperature: 0, ignore_eos: true)
  let waited = pause(n)
  return fact
}
"""

# The extern: fails for line n when fail_<n> exists, blocks while slow_<n> exists.
PAUSE = """#!/bin/sh
read args
n=$(echo "$args" | tr -dc '0-9')
if [ -f "$DIR/fail_$n" ]; then echo "refused $n" >&2; exit 3; fi
while [ -f "$DIR/slow_$n" ]; do sleep 0.05; done
echo null
"""

LINES = 12
LONG = (10, 11, 12)  # lines that generate many tokens (in flight when SIGTERM comes)


def records(path):
    """Every line of `path` must be one complete JSON record; returns them by input line."""
    with open(path, "rb") as f:
        data = f.read()
    check(data == b"" or data.endswith(b"\n"), f"{path}: ends with a complete line")
    out = {}
    for i, raw in enumerate(data.splitlines(), 1):
        rec = json.loads(raw)  # raises (fails the test) on a torn or invalid line
        check(isinstance(rec, dict) and "line" in rec and "input" in rec, f"{path}:{i} is a record")
        check(rec["line"] not in out, f"{path}: one record for line {rec['line']}")
        out[rec["line"]] = rec
    return out


def main():
    sgrun, model, work = setup("sgp_fault_batch_")
    env = dict(os.environ, DIR=work, SGP_MODEL=model)
    prog = os.path.join(work, "p.sgp")
    pause = os.path.join(work, "pause.sh")
    inputs = os.path.join(work, "in.jsonl")
    with open(prog, "w") as f:
        f.write(PROGRAM)
    with open(pause, "w") as f:
        f.write(PAUSE)
    os.chmod(pause, 0o755)
    with open(inputs, "w") as f:
        for n in range(1, LINES + 1):
            f.write(json.dumps({"n": n, "tokens": 120 if n in LONG else 8}) + "\n")

    def start(out, *extra):
        cmd = [sgrun, "run", prog, "--batch", inputs, "--out", out, "--greedy", "--no-progress",
               "--parallel", "3", "--extern", "pause=" + pause, *extra]
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    def finish(p):
        out, err = p.communicate(timeout=HANG_GUARD)
        return p.returncode, out, err

    def touch(name):
        open(os.path.join(work, name), "w").close()

    def wait_for_records(path, lines, p):
        deadline = time.time() + HANG_GUARD
        while time.time() < deadline and p.poll() is None:
            if os.path.exists(path):
                with open(path) as f:
                    have = {json.loads(l)["line"] for l in f if l.endswith("\n")}
                if set(lines) <= have:
                    return True
            time.sleep(0.05)
        return False

    try:
        # The uninterrupted reference run.
        ref_path = os.path.join(work, "ref.jsonl")
        code, _, err = finish(start(ref_path))
        check(code == 0, f"clean run exits 0 (got {code}: {err})")
        ref = records(ref_path)
        check(sorted(ref) == list(range(1, LINES + 1)), "clean run: a record per line")
        check(all("output" in r for r in ref.values()), "clean run: every line has an output")

        # 1. One line's extern fails: only that line fails.
        touch("fail_5")
        fail_path = os.path.join(work, "fail.jsonl")
        code, _, err = finish(start(fail_path))
        os.remove(os.path.join(work, "fail_5"))
        check(code == 1, f"a failed line makes the exit status 1 (got {code})")
        got = records(fail_path)
        check(sorted(got) == list(range(1, LINES + 1)), "failing run: a record per line")
        e = got.get(5, {}).get("error", "")
        check("refused 5" in e and "exit status 3" in e, f"line 5 records the extern's error: {e}")
        for n in range(1, LINES + 1):
            if n != 5:
                check(got[n].get("output") == ref[n]["output"], f"line {n} unaffected by line 5")

        # 2a. SIGINT while lines 7-9 block inside the extern (they cannot be unwound).
        out_path = os.path.join(work, "out.jsonl")
        for n in range(7, LINES + 1):
            touch(f"slow_{n}")
        p = start(out_path)
        check(wait_for_records(out_path, range(1, 7), p), "lines 1-6 finish before the signal")
        time.sleep(0.3)  # lines 7-9 are now waiting in the extern
        sent = time.time()
        p.send_signal(signal.SIGINT)
        code, _, err = finish(p)
        waited = time.time() - sent
        print(f"SIGINT -> exit {code} after {waited:.2f} s; stderr: {err.strip()}", flush=True)
        check(code == 130, f"SIGINT: exit status 130 (got {code})")
        msg = [l for l in err.splitlines() if "interrupted" in l]
        check(len(msg) == 1 and "SIGINT" in msg[0] and "--resume" in msg[0],
              f"SIGINT: one clear message naming --resume: {err}")
        got = records(out_path)
        check(sorted(got) == list(range(1, 7)), f"SIGINT: records for lines 1-6 only: {sorted(got)}")
        for n, r in got.items():
            check(r.get("output") == ref[n]["output"], f"SIGINT: line {n} output kept intact")
        for n in range(7, LINES + 1):
            os.remove(os.path.join(work, f"slow_{n}"))

        # 2b. --resume, then SIGTERM while lines 10-12 generate 120 tokens each.
        p = start(out_path, "--resume")
        check(wait_for_records(out_path, range(1, 10), p), "resume: lines 7-9 finish")
        p.send_signal(signal.SIGTERM)
        code, _, err = finish(p)
        print(f"SIGTERM -> exit {code}; stderr: {err.strip()}", flush=True)
        check(code == 143, f"SIGTERM: exit status 143 (got {code})")
        check("SIGTERM" in err and "--resume" in err, f"SIGTERM: clear message: {err}")
        got = records(out_path)
        check(set(range(1, 10)) <= set(got) and len(got) < LINES,
              f"SIGTERM: lines 1-9 kept, the long ones cut: {sorted(got)}")

        # 3. --resume completes exactly the rest.
        code, _, err = finish(start(out_path, "--resume"))
        check(code == 0, f"final resume exits 0 (got {code}: {err})")
        check(f"{len(got)} done earlier" in err, f"final resume reports the earlier records: {err}")
        final = records(out_path)
        check(sorted(final) == list(range(1, LINES + 1)), "final: exactly one record per line")
        for n in range(1, LINES + 1):
            check(final[n].get("output") == ref[n]["output"], f"final: line {n} equals the clean run")

        # --resume against another batch's file is refused, the file untouched.
        with open(inputs, "w") as f:
            f.write(json.dumps({"n": 99}) + "\n")
        before = open(out_path).read()
        code, _, err = finish(start(out_path, "--resume"))
        check(code == 1 and "another batch" in err, f"mismatched --resume refused: {code} {err}")
        check(open(out_path).read() == before, "mismatched --resume leaves the file as it was")
    finally:
        for name in os.listdir(work):  # lets any extern still waiting go
            if name.startswith("slow_"):
                os.remove(os.path.join(work, name))
    return verdict(work, "batch fault")


if __name__ == "__main__":
    sys.exit(main())
