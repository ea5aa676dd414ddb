#!/usr/bin/env python3
"""Validates constrained JSON outputs with the jsonschema package (an independent validator).

Usage: tools/check_constraint_outputs.py BUILD/constraint_schema_outputs.jsonl
Each line is {"schema": ..., "output": "<generated text>"}, written by constraint_tests (or
constraint_smollm_tests). A missing file exits 77 (ctest: skipped), as when the model is absent.
"""
import json
import os
import sys

import jsonschema


def main():
    path = sys.argv[1]
    if not os.path.exists(path):
        print(f"{path} not written (model absent?); skipped")
        sys.exit(77)
    n = 0
    bad = 0
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            try:
                value = json.loads(rec["output"])
                jsonschema.validate(value, rec["schema"], format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
            except (ValueError, jsonschema.ValidationError) as e:
                bad += 1
                print(f"invalid: {rec['output']!r}: {e}", file=sys.stderr)
            n += 1
    print(f"{n} outputs, {bad} invalid")
    if n == 0 or bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
