#!/usr/bin/env python3
"""Fault tests of `sgrun run --batch` on the default model, driven through the real binary.

1. An extern that fails for one line mid-batch: that line's record holds the error, every other
   line's output equals the clean run's.
2. SIGINT while lines sit in an extern command, then SIGTERM while lines are generating: each
   time sgrun exits with 128+signal and a one-line message naming --resume, and the output file
   is valid JSONL holding every finished record (and nothing else).
3. `--resume` runs only the lines without a record; the final file has one record per input
   line, equal to the uninterrupted run.
4. Neither the signal nor `--extern-timeout` leaves an extern command (or a process it started)
   running.

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

# The extern: fails for line n when fail_<n> exists, blocks while slow_<n> exists. A blocked one
# first starts a child of its own (as a script calling other tools does) and writes both pids to
# pids_<n>: sgrun must not leave either running when it stops.
PAUSE = """#!/bin/sh
read args
n=$(echo "$args" | tr -dc '0-9')
if [ -f "$DIR/fail_$n" ]; then echo "refused $n" >&2; exit 3; fi
if [ -f "$DIR/slow_$n" ]; then
  sleep 600 < /dev/null > /dev/null 2>&1 &
  echo "$$ $!" > "$DIR/pids_$n"
fi
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


def alive(pid):
    """True while `pid` runs (a zombie counts as gone: it only waits to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def check_externs_gone(work, lines, what):
    """Every extern process (and its child) that lines `lines` started has ended."""
    pids = []
    for n in lines:
        path = os.path.join(work, f"pids_{n}")
        check(os.path.exists(path), f"{what}: line {n}'s extern started")
        if os.path.exists(path):
            pids += [int(p) for p in open(path).read().split()]
            os.remove(path)
    deadline = time.time() + 5  # the kill is sent before sgrun exits; let it land
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    left = [p for p in pids if alive(p)]
    check(not left, f"{what}: no extern process left running (still alive: {left})")
    for p in left:  # the test itself leaves nothing behind
        os.kill(p, signal.SIGKILL)


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
        deadline = time.time() + HANG_GUARD  # wait until lines 7-9 sit in the extern
        while time.time() < deadline and p.poll() is None and not all(
                os.path.exists(os.path.join(work, f"pids_{n}")) for n in range(7, 10)):
            time.sleep(0.05)
        time.sleep(0.1)  # the pid files are written; the externs now loop
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
        check_externs_gone(work, range(7, 10), "SIGINT")
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

        # An extern past --extern-timeout is killed with its children; the line gets the error.
        touch("slow_13")
        one = subprocess.run([sgrun, "run", prog, "n=13", "--greedy", "--no-stream",
                              "--extern", "pause=" + pause, "--extern-timeout", "1"],
                             env=env, capture_output=True, text=True, timeout=HANG_GUARD)
        check(one.returncode == 1 and "timed out after 1 s" in one.stderr,
              f"extern past its time limit: the run fails naming it: {one.stderr}")
        check_externs_gone(work, [13], "--extern-timeout")
        os.remove(os.path.join(work, "slow_13"))

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
            if name.startswith("pids_"):  # and ends what a failed check left running
                for pid in open(os.path.join(work, name)).read().split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except (ProcessLookupError, ValueError):
                        pass
    return verdict(work, "batch fault")


if __name__ == "__main__":
    sys.exit(main())
