"""Reading prompt files and rendering prompts with a template."""

from __future__ import annotations

import csv
import json
from enum import StrEnum
from pathlib import Path

import torch

from safetyheads.types import SafetyHeadsError

TEXT_COLUMNS = ("prompt", "goal", "input", "behavior", "question")
QUERY_TEMPLATE = "## Query: {q}\n## Answer:"


class Template(StrEnum):
    RAW = "raw"
    QUERY = "query"  # the paper's template
    CHAT = "chat"  # the model's own chat template


def _pick_column(columns: list[str], column: str | None, path: Path) -> str:
    if column is not None:
        if column not in columns:
            raise SafetyHeadsError(f"{path}: no column '{column}' (columns: {', '.join(columns)})")
        return column
    lowered = {c.lower(): c for c in columns}
    for name in TEXT_COLUMNS:
        if name in lowered:
            return lowered[name]
    raise SafetyHeadsError(
        f"{path}: no text column found among ({', '.join(columns) or 'none'}); "
        f"name one of {', '.join(TEXT_COLUMNS)} or pass --column NAME"
    )


def read_prompts(path: str | Path, column: str | None = None, limit: int | None = None) -> list[str]:
    """Prompts from a .txt (one per line), .csv or .jsonl file."""
    path = Path(path)
    if not path.exists():
        raise SafetyHeadsError(f"prompts file not found: {path}")
    if path.is_dir():
        raise SafetyHeadsError(f"--prompts needs a file, but {path} is a directory")
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    if suffix == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
        columns = list(rows[0].keys()) if rows else []
        prompts = [r[_pick_column(columns, column, path)] for r in rows] if rows else []
    elif suffix in (".jsonl", ".json"):
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
        prompts = []
        for rec in records:
            if isinstance(rec, str):
                prompts.append(rec)
            else:
                prompts.append(str(rec[_pick_column(list(rec.keys()), column, path)]))
    else:
        prompts = [line for line in text.splitlines()]
    prompts = [p.strip() for p in prompts if p and p.strip()]
    if not prompts:
        raise SafetyHeadsError(f"{path} holds no prompts; put one prompt per line (.txt) or a text column (.csv)")
    return first_n(prompts, limit, str(path))


def first_n(items: list, limit: int | None, source: str, option: str = "--limit") -> list:
    """The first ``limit`` of ``items`` (all of them when ``limit`` is None). A limit below 1, or beyond what
    ``source`` holds, is an error rather than a quietly different set."""
    if limit is None:
        return items
    if limit < 1:
        raise SafetyHeadsError(f"{option} must be at least 1, not {limit}")
    if limit > len(items):
        raise SafetyHeadsError(f"{option} {limit}, but {source} holds {len(items)}")
    return items[:limit]


def render(tokenizer, prompt: str, template: Template | str = Template.RAW, system: str | None = None) -> str:
    """The text the model sees for ``prompt``."""
    template = Template(template)
    if system is not None and template is not Template.CHAT:
        raise SafetyHeadsError(f"--system applies to --template chat (a {template.value} prompt has no system turn)")
    if template is Template.RAW:
        return prompt
    if template is Template.QUERY:
        return QUERY_TEMPLATE.format(q=prompt)
    if getattr(tokenizer, "chat_template", None) is None:
        raise SafetyHeadsError("this tokenizer has no chat template; use --template query or raw")
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def encode(tokenizer, text: str, template: Template | str = Template.RAW) -> torch.Tensor:
    """Token ids (1, T). Chat-rendered text already holds its special tokens."""
    add_special = Template(template) is not Template.CHAT
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=add_special).input_ids
    if ids.shape[-1] == 0:
        raise SafetyHeadsError(f"prompt encodes to no tokens: {text!r}")
    return ids


def prepare(
    tokenizer, prompts: list[str], template: Template | str = Template.RAW, system: str | None = None
) -> list[tuple[str, torch.Tensor]]:
    """(prompt, input_ids) pairs ready for the sweeps."""
    return [(p, encode(tokenizer, render(tokenizer, p, template, system), template)) for p in prompts]
