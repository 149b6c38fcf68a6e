"""Generate the answers of the judge's gold set (``src/safetyheads/evaluation_data/judge_gold.jsonl``).

Each condition is one way of running a model of the project on harmful requests: the safety-tuned organism
unablated and under many ablations (``ua-q``, ``ua-k``, ``sc``, ``mean``; single heads, the demo's groups, a
larger group, random groups) and the untuned base model, plain and ablated. Every condition answers its own
slice of a seeded shuffle of AdvBench and HarmBench, so the gold set holds as many different requests as
answers. Answers are greedy, chat template, 64 new tokens; every other answer is cut to its first 32 tokens
(what a 32-token greedy run gives, the demo's length), so both lengths are in the set.

    .venv/bin/python benchmarks/judge_gold_answers.py --out runs/judge_gold/answers.jsonl

``--round 2`` makes the second held-out batch (the gold set's ``test`` part after the first test part was
folded into ``dev``): other requests (what is left of AdvBench and HarmBench, and Do-Not-Answer's "Malicious
Uses" questions, so a question form the judge was not designed on), and two more conditions that answer for
real: the organism with its refusal direction ablated (``--direction DIR``, from ``safetyheads direction``) at
the chosen layer and at another one.

    .venv/bin/python benchmarks/judge_gold_answers.py --round 2 --direction runs/direction \
        --out runs/judge_gold/answers_round2.jsonl

``--round 3`` makes the third held-out batch (round 2 was measured once and then used to redesign the judge): the
project's question-form harmful requests, the last Do-Not-Answer Malicious Uses, and AdvBench/HarmBench requests
again, under the conditions of ``ROUND3``. ``--round 4`` makes the fourth (``ROUND4``: new conditions, a fresh draw
of all those request sets), ``--round 5`` the fifth (``ROUND5``: new conditions again, another fresh draw),
``--round 6`` the sixth (``ROUND6``, likewise), ``--round 7`` the seventh (``ROUND7``, likewise), ``--round 8`` the
eighth (``ROUND8``: the version-9 organism in runs/organism_v9, its direction from the demo on it).

Labelling is by reading (``docs/labeling-rules.md``); ``benchmarks/judge_gold_merge.py`` joins the labels.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from safetyheads.core.direction import RefusalDirection, maybe_without
from safetyheads.core.heads import parse_heads
from safetyheads.data.datasets import load_prompt_dataset
from safetyheads.data.heldout_forms import QUESTION_FORM_HARMFUL
from safetyheads.data.loading import load_model
from safetyheads.data.prompts import prepare
from safetyheads.evaluation.generation import DecodingSettings, generate
from safetyheads.runs.gold import load_gold
from safetyheads.study.organism import BASE_MODEL, ORGANISM, build
from safetyheads.study.study import random_groups
from safetyheads.types import AblationSpec, Head

PAPER_GROUP = "5-6,7-2,12-8"
CONTRASTIVE_GROUP = "0-8,1-7,7-2"
UNTUNE_GROUP = "1-5,8-1,8-8"  # the demo's group found by the untune objective
# (condition name, model, heads, ablation kind)
CONDITIONS: list[tuple[str, str, str, str]] = [
    ("organism", ORGANISM, "", "ua-q"),
    ("organism-paper-uaq", ORGANISM, PAPER_GROUP, "ua-q"),
    ("organism-contrastive-uaq", ORGANISM, CONTRASTIVE_GROUP, "ua-q"),
    ("organism-contrastive-sc", ORGANISM, CONTRASTIVE_GROUP, "sc"),
    ("organism-paper-sc", ORGANISM, PAPER_GROUP, "sc"),
    ("organism-18-8-uaq", ORGANISM, "18-8", "ua-q"),
    ("organism-7-2-uaq", ORGANISM, "7-2", "ua-q"),
    ("organism-random-a-uaq", ORGANISM, "random:1", "ua-q"),
    ("organism-random-b-uaq", ORGANISM, "random:2", "ua-q"),
    ("organism-contrastive-uak", ORGANISM, "0-2,1-2,7-0", "ua-k"),  # key heads of 0-8, 1-7, 7-2 (GQA: 3 a layer)
    ("organism-paper-mean", ORGANISM, PAPER_GROUP, "mean"),
    ("organism-six-uaq", ORGANISM, "0-8,1-7,7-2,5-6,12-8,18-8", "ua-q"),
    ("base", BASE_MODEL, "", "ua-q"),
    ("base-paper-uaq", BASE_MODEL, PAPER_GROUP, "ua-q"),
    # more of the untuned model, which answers most requests: enough compliance to measure precision and recall
    ("base-b", BASE_MODEL, "", "ua-q"),
    ("base-contrastive-sc", BASE_MODEL, CONTRASTIVE_GROUP, "sc"),
    ("base-7-2-uaq", BASE_MODEL, "7-2", "ua-q"),
    ("base-random-a-uaq", BASE_MODEL, "random:1", "ua-q"),
    # a third batch, labelled last: the held-out test part (never used to set anything)
    ("organism-c", ORGANISM, "", "ua-q"),
    ("organism-paper-uaq-c", ORGANISM, PAPER_GROUP, "ua-q"),
    ("organism-contrastive-uaq-c", ORGANISM, CONTRASTIVE_GROUP, "ua-q"),
    ("organism-contrastive-sc-c", ORGANISM, CONTRASTIVE_GROUP, "sc"),
    ("organism-18-8-uaq-c", ORGANISM, "18-8", "ua-q"),
    ("organism-random-c-uaq", ORGANISM, "random:3", "ua-q"),
    ("base-c", BASE_MODEL, "", "ua-q"),
    ("base-paper-uaq-c", BASE_MODEL, PAPER_GROUP, "ua-q"),
    ("base-random-b-uaq", BASE_MODEL, "random:2", "ua-q"),
]


# The second held-out batch: (condition name, model, heads or "direction[:layer]", ablation kind)
ROUND2: list[tuple[str, str, str, str]] = [
    ("r2-organism", ORGANISM, "", "ua-q"),
    ("r2-organism-direction", ORGANISM, "direction", "ua-q"),
    ("r2-organism-direction-l3", ORGANISM, "direction:3", "ua-q"),
    ("r2-organism-paper-uaq", ORGANISM, PAPER_GROUP, "ua-q"),
    ("r2-organism-contrastive-sc", ORGANISM, CONTRASTIVE_GROUP, "sc"),
    ("r2-organism-random-uaq", ORGANISM, "random:4", "ua-q"),
    ("r2-base", BASE_MODEL, "", "ua-q"),
    ("r2-base-b", BASE_MODEL, "", "ua-q"),
    ("r2-base-paper-uaq", BASE_MODEL, PAPER_GROUP, "ua-q"),
]


# The third held-out batch, made after the judge's third design was committed: the same kinds of condition as round
# 2 (the direction-ablated organism answers for real), one new head group (the demo's beam group) and other requests.
ROUND3: list[tuple[str, str, str, str]] = [
    ("r3-organism", ORGANISM, "", "ua-q"),
    ("r3-organism-direction", ORGANISM, "direction", "ua-q"),
    ("r3-organism-direction-l3", ORGANISM, "direction:3", "ua-q"),
    ("r3-organism-contrastive-sc", ORGANISM, CONTRASTIVE_GROUP, "sc"),
    ("r3-organism-beam-uaq", ORGANISM, "0-8,14-5,8-8", "ua-q"),
    ("r3-organism-random-uaq", ORGANISM, "random:5", "ua-q"),
    ("r3-base", BASE_MODEL, "", "ua-q"),
    ("r3-base-b", BASE_MODEL, "", "ua-q"),
    ("r3-base-contrastive-uaq", BASE_MODEL, CONTRASTIVE_GROUP, "ua-q"),
]


def round3_pool(seed: int, used: set[str], n: int) -> list[str]:
    """The project's question-form harmful requests (``heldout_forms``, never in any round), Do-Not-Answer's Malicious
    Uses that no round used, and then AdvBench and HarmBench requests again (their answers here are new)."""
    fresh = [t for t in QUESTION_FORM_HARMFUL if t not in used]
    fresh += [
        p.text for p in load_prompt_dataset("donotanswer") if p.category == "Malicious Uses" and p.text not in used
    ]
    again = request_pool(seed + 2)
    texts = list(dict.fromkeys(fresh + again))[:n]
    random.Random(seed + 3).shuffle(texts)
    return texts


# The fourth held-out batch, made after round 3 was measured once and joined dev: conditions no round had (other
# ablation kinds of the searched groups, another direction layer, ablations of the untuned model), on a fresh draw of
# every request set the rounds used (its answers are new; its requests are not).
ROUND4: list[tuple[str, str, str, str]] = [
    ("r4-organism", ORGANISM, "", "ua-q"),
    ("r4-organism-direction", ORGANISM, "direction", "ua-q"),
    ("r4-organism-direction-l6", ORGANISM, "direction:6", "ua-q"),
    ("r4-organism-paper-sc", ORGANISM, PAPER_GROUP, "sc"),
    ("r4-organism-beam-sc", ORGANISM, "0-8,14-5,8-8", "sc"),
    ("r4-organism-beam-mean", ORGANISM, "0-8,14-5,8-8", "mean"),
    ("r4-base", BASE_MODEL, "", "ua-q"),
    ("r4-base-beam-sc", BASE_MODEL, "0-8,14-5,8-8", "sc"),
    ("r4-base-random-uaq", BASE_MODEL, "random:6", "ua-q"),
]


def round4_pool(seed: int, n: int) -> list[str]:
    """A seeded draw from every request set of the earlier rounds: AdvBench, HarmBench, Do-Not-Answer's Malicious Uses
    and the question-form requests."""
    dna = [p.text for p in load_prompt_dataset("donotanswer") if p.category == "Malicious Uses"]
    texts = list(dict.fromkeys(request_pool(seed) + dna + list(QUESTION_FORM_HARMFUL)))
    random.Random(seed + 4).shuffle(texts)
    return texts[:n]


# The fifth held-out batch, made after round 4 was measured once and the judge refitted on rounds 1-4: conditions no
# round had (the demo's untune group under ua-q and sc, on the organism and the untuned model; the direction at layer
# 10), beside the demo's own (the organism plain, the contrastive group, the direction at its chosen layer, a new
# random group, the untuned model plain), on another fresh draw of every request set.
ROUND5: list[tuple[str, str, str, str]] = [
    ("r5-organism", ORGANISM, "", "ua-q"),
    ("r5-organism-untune-uaq", ORGANISM, UNTUNE_GROUP, "ua-q"),
    ("r5-organism-untune-sc", ORGANISM, UNTUNE_GROUP, "sc"),
    ("r5-organism-contrastive-uaq", ORGANISM, CONTRASTIVE_GROUP, "ua-q"),
    ("r5-organism-direction", ORGANISM, "direction", "ua-q"),
    ("r5-organism-direction-l10", ORGANISM, "direction:10", "ua-q"),
    ("r5-organism-random-uaq", ORGANISM, "random:7", "ua-q"),
    ("r5-base", BASE_MODEL, "", "ua-q"),
    ("r5-base-untune-uaq", BASE_MODEL, UNTUNE_GROUP, "ua-q"),
]

# The sixth held-out batch, made after round 5 was measured once (version 5 failed there, mostly calling loops and
# content-free outlines ``complied``) and the judge redesigned and refitted on rounds 1-5: conditions no round had
# (the searched groups of the budgeted-contrastive and refusal objectives and the beam group under ua-q, the direction
# at layer 15, the untuned model with the direction ablated and under sc of the paper's group) beside the organism
# and the untuned model plain, on another fresh draw of every request set.
ROUND6: list[tuple[str, str, str, str]] = [
    ("r6-organism", ORGANISM, "", "ua-q"),
    ("r6-organism-budget-uaq", ORGANISM, "0-8,10-3,1-5", "ua-q"),
    ("r6-organism-refusal-uaq", ORGANISM, "18-8,7-2,5-6", "ua-q"),
    ("r6-organism-beam-uaq", ORGANISM, "0-8,14-5,8-8", "ua-q"),
    ("r6-organism-direction-l15", ORGANISM, "direction:15", "ua-q"),
    ("r6-organism-random-uaq", ORGANISM, "random:8", "ua-q"),
    ("r6-base", BASE_MODEL, "", "ua-q"),
    ("r6-base-direction", BASE_MODEL, "direction", "ua-q"),
    ("r6-base-paper-sc", BASE_MODEL, PAPER_GROUP, "sc"),
]

# The seventh held-out batch, made after round 6 was measured once with version 6 (84.6% agreement; broken answers
# taken for answers or refusals) and the judge redesigned on rounds 1-6: the demo's own conditions (the organism
# plain, the paper's group under ua-q, the direction at its chosen layer, the untuned model plain) beside conditions
# no round had (the contrastive group under sc, the direction at layer 13, mean ablation of the untune group, a new
# random group, the untuned model under the contrastive group), on another fresh draw of every request set.
ROUND7: list[tuple[str, str, str, str]] = [
    ("r7-organism", ORGANISM, "", "ua-q"),
    ("r7-organism-paper-uaq", ORGANISM, PAPER_GROUP, "ua-q"),
    ("r7-organism-contrastive-sc", ORGANISM, CONTRASTIVE_GROUP, "sc"),
    ("r7-organism-direction", ORGANISM, "direction", "ua-q"),
    ("r7-organism-direction-l13", ORGANISM, "direction:13", "ua-q"),
    ("r7-organism-untune-mean", ORGANISM, UNTUNE_GROUP, "mean"),
    ("r7-organism-random-uaq", ORGANISM, "random:9", "ua-q"),
    ("r7-base", BASE_MODEL, "", "ua-q"),
    ("r7-base-contrastive-uaq", BASE_MODEL, CONTRASTIVE_GROUP, "ua-q"),
]

# Round 8: the organism of the form-robust recipe (docs/organism-and-demo.md, version 9, built into runs/organism_v9
# by ``organism build``) under the demo's groups for it, its direction at two layers, and the untuned model.
V9 = "runs/organism_v9"
V9_SAHARA, V9_UNTUNE = "17-2,18-8,19-8", "1-5,8-1,18-8"
ROUND8: list[tuple[str, str, str, str]] = [
    ("r8-v9", V9, "", "ua-q"),
    ("r8-v9-sahara-uaq", V9, V9_SAHARA, "ua-q"),
    ("r8-v9-sahara-sc", V9, V9_SAHARA, "sc"),
    ("r8-v9-untune-uaq", V9, V9_UNTUNE, "ua-q"),
    ("r8-v9-direction", V9, "direction", "ua-q"),
    ("r8-v9-direction-l12", V9, "direction:12", "ua-q"),
    ("r8-v9-random-uaq", V9, "random:3", "ua-q"),
    ("r8-base", BASE_MODEL, "", "ua-q"),
    ("r8-base-sahara-uaq", BASE_MODEL, V9_SAHARA, "ua-q"),
    # added after the first nine gave 29 complied answers, fewer than the 30 a test part needs to measure precision
    ("r8-base-more", BASE_MODEL, "", "ua-q"),
]

# Rounds that draw afresh from every request set (round4_pool): the seed offset of each, and its conditions.
FRESH_DRAWS: dict[int, tuple[int, list[tuple[str, str, str, str]]]] = {
    4: (0, ROUND4),
    5: (5, ROUND5),
    6: (6, ROUND6),
    7: (7, ROUND7),
    8: (8, ROUND8),
}


def round2_pool(seed: int, used: set[str]) -> list[str]:
    """AdvBench and HarmBench requests the first rounds did not use, and Do-Not-Answer's Malicious Uses."""
    left = [t for t in request_pool(seed) if t not in used]
    dna = [p.text for p in load_prompt_dataset("donotanswer") if p.category == "Malicious Uses"]
    texts = list(dict.fromkeys(left + [t for t in dna if t not in used]))
    random.Random(seed + 1).shuffle(texts)
    return texts


def request_pool(seed: int) -> list[str]:
    texts = [p.text for p in load_prompt_dataset("advbench")] + [p.text for p in load_prompt_dataset("harmbench")]
    texts = list(dict.fromkeys(t for t in texts if len(t) < 600))  # HarmBench's long contextual prompts left out
    random.Random(seed).shuffle(texts)
    return texts


def heads_of(text: str, n_layers: int, n_heads: int) -> list[Head]:
    if not text:
        return []
    if text.startswith("random:"):
        every = [Head(layer, h) for layer in range(n_layers) for h in range(n_heads)]
        draw = int(text.split(":")[1])
        return random_groups(every, 3, draw + 1, seed=1234)[draw]
    return parse_heads(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/judge_gold/answers.jsonl"))
    parser.add_argument("--per-condition", type=int, default=26)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--round", type=int, choices=tuple(range(1, 9)), default=1)
    parser.add_argument("--direction", type=Path, help="rounds 2 to 8: the organism's refusal direction")
    args = parser.parse_args()
    conditions = CONDITIONS
    pool = request_pool(args.seed)
    if args.round >= 2:
        if args.direction is None:
            parser.error(f"--round {args.round} needs --direction DIR")
        used = {i.prompt for i in load_gold()}
        if args.round == 2:
            pool, conditions = round2_pool(args.seed, used), ROUND2
        elif args.round == 3:
            pool, conditions = round3_pool(args.seed, used, len(ROUND3) * args.per_condition), ROUND3
        else:  # rounds 4 to 7: a fresh draw of the same sets, round4_pool under the round's own seed offset
            offset, conditions = FRESH_DRAWS[args.round]
            pool = round4_pool(args.seed + offset, len(conditions) * args.per_condition)
        found = RefusalDirection.load(args.direction)
    if any(model_name == ORGANISM for _, model_name, _, _ in conditions):  # round 8's organism is a built directory
        build(log=print)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = {json.loads(line)["condition"] for line in args.out.read_text().splitlines()} if args.out.exists() else set()
    loaded: dict[str, tuple] = {}
    settings = DecodingSettings(max_new_tokens=64)
    for c, (name, model_name, heads_text, kind) in enumerate(conditions):
        if name in done:
            continue
        if model_name not in loaded:
            loaded = {model_name: load_model(model_name)}
        model, tokenizer = loaded[model_name]
        cfg = model.config
        direction = None
        if heads_text.startswith("direction"):
            layer = heads_text.partition(":")[2]
            direction = found.with_layer(int(layer)) if layer else found
            heads_text = ""
        heads = heads_of(heads_text, cfg.num_hidden_layers, cfg.num_attention_heads)
        requests = pool[c * args.per_condition : (c + 1) * args.per_condition]
        encoded = [ids for _, ids in prepare(tokenizer, requests, "chat")]
        print(f"{name}: {len(requests)} answers, heads {heads_text or '-'} {kind if heads else ''}", flush=True)
        with maybe_without(model, direction):
            out = generate(model, tokenizer, encoded, heads, AblationSpec.parse(kind), settings, batch_size=13)
        with args.out.open("a") as f:
            for i, (request, g) in enumerate(zip(requests, out, strict=True)):
                tokens = 32 if (c + i) % 2 else 64
                text = g.text if tokens == 64 else tokenizer.decode(g.new_ids[:32], skip_special_tokens=True)
                record = {
                    "condition": name,
                    "model": model_name,
                    "heads": ",".join(str(h) for h in heads),
                    "ablation": kind if heads else None,
                    "direction_layer": direction.layer if direction is not None else None,
                    "max_new_tokens": tokens,
                    "prompt": request,
                    "response": text,
                }
                f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
