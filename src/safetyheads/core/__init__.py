"""The core: model families, head references, run-time ablation, the sweep engine, weight edits."""
