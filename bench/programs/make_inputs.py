#!/usr/bin/env python3
"""Seeded input generators for the bench/programs workloads: writes <name>.jsonl files."""
import argparse
import json
import os
import random

WORDS = ("river mountain signal engine garden market theory protein orbit lattice harbor "
         "circuit famine glacier ledger mineral poem senate tariff voltage canyon enzyme "
         "fossil meadow compass dialect furnace algebra").split()


def sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize()


def few_shot(rng, n_questions, preamble_shots):
    # One preamble shared by every question (~600 tokens with 12 shots).
    shots = []
    for i in range(preamble_shots):
        q = sentence(rng, 9) + "?"
        opts = [sentence(rng, 3) for _ in range(4)]
        shots.append(f"Question: {q}\nChoices: " + "; ".join(opts) + f"\nAnswer: {opts[rng.randrange(4)]}\n\n")
    preamble = "The following are multiple choice questions about general knowledge.\n\n" + "".join(shots)
    for _ in range(n_questions):
        choices = [" " + sentence(rng, 3) for _ in range(4)]
        yield {"preamble": preamble, "question": sentence(rng, 9) + "?", "choices": choices}


def tree(rng, n):
    for _ in range(n):
        a, b, c, d = (rng.randint(1, 9) for _ in range(4))
        yield {"problem": f"Use {a}, {b}, {c} and {d} with + - * / to make 24."}


def chat(rng, n):
    for _ in range(n):
        yield {"system_prompt": "You are a helpful assistant. Keep answers short.",
               "messages": [f"Tell me about the {rng.choice(WORDS)}." for _ in range(4)]}


def expand(rng, n):
    for _ in range(n):
        yield {"context": sentence(rng, 40) + ".", "topics": rng.sample(WORDS, 4)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)) + "/inputs")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--n", type=int, default=8)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    gens = {"few_shot": lambda r: few_shot(r, args.n, 12), "tree_of_thought": lambda r: tree(r, max(2, args.n // 4)),
            "multi_turn_chat": lambda r: chat(r, args.n), "parallel_expand": lambda r: expand(r, args.n)}
    for name, gen in gens.items():
        rng = random.Random(f"{args.seed}-{name}")
        with open(os.path.join(args.out, name + ".jsonl"), "w") as f:
            for row in gen(rng):
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
