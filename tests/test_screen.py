"""The Ships screen (``screen.py``) against finite differences and the exact sweep, on tiny models of several families.

The reference for each head is computed without the screen's machinery: forward pre-hooks on the attention output
projection capture the head's input slice unablated and under the exact ablation (``ablated``), giving the head's
change Δ at its own layer; the head's output is then moved a small step t towards its ablated value,
``o + t Δ``, with everything above recomputed by plain forwards. Ships(t) / t² must approach the second-order
estimate, and the refusal log-odds slope the first-order one.
"""

import json

import pytest
import torch
from models import FAMILIES, prompt_ids, save_tiny, tiny_model

from safetyheads.cli import main
from safetyheads.core.ablation import AblationPlan, ablated, using_plan
from safetyheads.core.engine import Engine, kl_divergence
from safetyheads.core.families import attention_modules, facts_for, model_shape
from safetyheads.data.loading import load_model
from safetyheads.data.prompts import prepare
from safetyheads.runs.sweep_runs import sahara_run
from safetyheads.scores.screen import exact_sweep_cost, screen_prompt
from safetyheads.scores.ships import ships_for_prompt, sweep_ships
from safetyheads.scores.specificity import refusal_log_odds
from safetyheads.types import AblationSpec, Head, SafetyHeadsError

REFUSAL_IDS = [5, 17, 40]


def _out_proj(model, layer: int):
    return getattr(attention_modules(model)[layer], facts_for(model).out)


def _head_input(model, ids, layer: int) -> torch.Tensor:
    """The input of ``layer``'s output projection (all heads concatenated), (1, T, H * D)."""
    seen = []
    handle = _out_proj(model, layer).register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach().clone()))
    try:
        with torch.no_grad():
            model(input_ids=ids, use_cache=False)
    finally:
        handle.remove()
    return seen[0]


def _logprobs_moved(model, ids, layer: int, delta: torch.Tensor, t: float) -> torch.Tensor:
    """Last-position log-probabilities with the output projection's input at ``layer`` moved by ``t * delta``."""
    handle = _out_proj(model, layer).register_forward_pre_hook(lambda _m, args: (args[0] + t * delta, *args[1:]))
    try:
        with torch.no_grad():
            logits = model(input_ids=ids, use_cache=False).logits[0, -1]
    finally:
        handle.remove()
    return logits.double().log_softmax(dim=-1)


def _reference_delta(model, ids, head: Head, spec: AblationSpec) -> torch.Tensor:
    base = _head_input(model, ids, head.layer)
    with ablated(model, [head], spec):
        moved = _head_input(model, ids, head.layer)
    return moved - base


CASES = [
    ("llama", "ua-q"),
    ("llama", "ua-k"),
    ("llama", "sc"),
    ("llama", "mean"),
    ("qwen3", "ua-q"),  # q/k norm
    ("gemma2", "ua-q"),  # sliding window, soft-capping
    ("gemma3_text", "ua-k"),
    ("phi3", "zero"),  # fused qkv
    ("gpt2", "ua-q"),  # Conv1D
    ("gpt_neox", "sc"),
    ("gptj", "ua-k"),  # parallel, interleaved partial rotary
    ("gpt_bigcode", "ua-k"),  # one key/value head
    ("opt", "ua-q"),  # learned positions, the MLP's two layers in the decoder layer
    ("olmo2", "ua-q"),
    ("mistral", "ua-q"),  # the rest of the families table
    ("qwen2", "ua-k"),
    ("gemma", "ua-q"),
    ("olmo", "sc"),
    ("olmo3", "ua-q"),
    ("gemma4_text", "ua-q"),  # a global layer with larger heads
    ("gemma3", "ua-q"),  # image-text models' decoders
    ("gemma4", "sc"),
    ("mistral3", "ua-k"),
    ("llava", "sc"),
    ("qwen2_vl", "ua-k"),
    ("qwen2_5_vl", "ua-q"),
    ("qwen3_vl", "sc"),
    ("granite", "ua-k"),
    ("smollm3", "ua-q"),  # a layer without rotary encoding
    ("cohere", "ua-q"),  # q/k norm switched on by the config
    ("cohere2", "sc"),  # attention and MLP in parallel
    ("exaone4", "ua-q"),
    ("glm", "ua-q"),  # partial rotary encoding
    ("glm4", "ua-k"),
    ("phi", "ua-k"),  # parallel, partial rotary, biases
    ("ministral3", "ua-q"),
    ("ministral", "ua-k"),
    ("arcee", "sc"),
    ("helium", "ua-q"),
    ("seed_oss", "ua-k"),
    ("ernie4_5", "zero"),
    ("vaultgemma", "ua-k"),  # soft-capping
    ("nemotron", "sc"),  # partial rotary
    ("apertus", "ua-q"),  # q/k norm
    ("hunyuan_v1_dense", "ua-k"),  # q/k norm after the rotary encoding
    ("stablelm", "zero"),
    ("starcoder2", "ua-k"),
    ("mixtral", "ua-q"),  # experts
    ("qwen2_moe", "sc"),
    ("qwen3_moe", "ua-q"),
    ("olmoe", "ua-q"),
    ("phimoe", "sc"),
    ("granitemoe", "ua-k"),
    ("ernie4_5_moe", "sc"),  # a dense layer among expert layers
    ("glm4_moe", "ua-q"),
    ("hunyuan_v1_moe", "ua-k"),
    ("deepseek_v2", "ua-k"),  # latent attention
    ("lfm2", "ua-q"),  # hybrid: short convolutions
    ("granitemoehybrid", "ua-k"),  # hybrid: Mamba-2
    ("jamba", "ua-q"),  # hybrid: Mamba
    ("bamba", "sc"),
    ("falcon_h1", "ua-q"),  # attention beside Mamba-2
    ("lfm2_moe", "sc"),
    ("llama4_text", "ua-q"),  # a shared weightless q/k norm, chunked attention
    ("deepseek_v3", "sc"),
    ("gpt_oss", "ua-q"),  # attention sinks
    ("qwen3_5_text", "ua-q"),  # hybrid: heads only in layer 1
    ("qwen3_5_moe_text", "ua-k"),
]


# the tiny Gemma 4's head 0-1 curves more: its extrapolated quotient moves 0.16903, 0.16828, 0.16804 towards the
# screen's 0.16797 as the step halves from 4e-2 to 1e-2, so the smaller step leaves less of the third-order term
STEPS = {"gemma4_text": 1e-2, "gemma4": 1e-2, "granitemoe": 1e-2}
# A finite difference needs a function that is smooth over its step. ReLU is not at its kink: OPT's quotients
# (0.0711, 0.0685, 0.0683 as the step halves from 2e-2) stay 3% from the screen's 0.0707, and the same model with
# GELU agrees, so the screen test gives the tiny OPT GELU. Nor is top-k routing where two experts
# nearly tie: within the step the tiny Granite MoE's router swaps an expert (quotients of -60 against 0.59) and
# PhiMoE's sparse mixer drops experts scoring below a threshold relative to the best. There every token gets all
# experts (Granite, and Jamba, whose quotient misses by 2.5% with two of four) or the threshold is moved out of
# reach (PhiMoE); the screen itself runs the same either way.
SMOOTH = {
    "opt": dict(activation_function="gelu"),
    "granitemoe": dict(num_experts_per_tok=4),
    "jamba": dict(num_experts_per_tok=4),
    "phimoe": dict(router_jitter_noise=10.0),
}


def test_every_family_goes_through_the_screen():
    assert {family for family, _ in CASES} == set(FAMILIES)


@pytest.mark.parametrize(("family", "kind"), CASES)
def test_screen_matches_finite_differences(family, kind):
    model = tiny_model(family, **SMOOTH.get(family, {})).double()
    if hasattr(model.config, "_experts_implementation"):  # grouped matrix products take no float64
        model.set_experts_implementation("eager")
    spec = AblationSpec.parse(kind)
    ids = prompt_ids(10)
    vocab = model_shape(model).vocab_size
    screen = screen_prompt(model, ids, spec, tokens=vocab, refusal_ids=REFUSAL_IDS)  # every token: no truncation
    assert screen.mass == pytest.approx(1.0)
    with torch.no_grad():
        base = model(input_ids=ids, use_cache=False).logits[0, -1].double().log_softmax(dim=-1)
    base_odds = float(refusal_log_odds(base, REFUSAL_IDS))
    per_layer = model_shape(model).heads_per_layer(spec)
    checked = 0
    heads = [Head(0, min(1, per_layer - 1)), Head(1, per_layer - 1), Head(2, 0)]  # multi-query: one key head
    heads = [h for h in heads if model_shape(model).has_heads(h.layer)]  # a hybrid model: layer 1 only
    for head in heads:
        delta = _reference_delta(model, ids, head, spec)
        assert delta.abs().max() > 0  # the ablation changed the head
        # the models' norms compute in float32 even in a float64 model, so the steps are not tiny; Richardson
        # extrapolation over t and t/2 removes the leading error term of each difference quotient
        t = STEPS.get(family, 2e-2)

        def quotient_kl(step: float, layer: int = head.layer, delta: torch.Tensor = delta) -> float:
            return float(kl_divergence(base, _logprobs_moved(model, ids, layer, delta, step))) / step**2

        def slope(step: float, layer: int = head.layer, delta: torch.Tensor = delta) -> float:
            up = float(refusal_log_odds(_logprobs_moved(model, ids, layer, delta, step), REFUSAL_IDS))
            down = float(refusal_log_odds(_logprobs_moved(model, ids, layer, delta, -step), REFUSAL_IDS))
            return (up - down) / (2 * step)

        second = 2 * quotient_kl(t / 2) - quotient_kl(t)  # KL(t)/t^2 = c2 + c3 t + O(t^2)
        first = (4 * slope(t / 2) - slope(t)) / 3  # central difference: f' + O(t^2)
        # float32 rounding inside the norms (about 1e-7 of each logit) bounds what a difference quotient can resolve:
        # 1e-3 of the largest head's value
        assert second == pytest.approx(screen.kl[head], rel=1e-3, abs=1e-3 * max(screen.kl.values()))
        assert screen.refusal is not None
        scale = max(abs(v) for v in screen.refusal.values())
        assert -first == pytest.approx(screen.refusal[head], rel=1e-3, abs=1e-3 * scale)  # base minus ablated
        assert base_odds == pytest.approx(float(refusal_log_odds(base, REFUSAL_IDS)))
        checked += 1
    assert checked == len(heads) >= 1


def test_truncated_estimate_sums_only_the_top_tokens():
    model = tiny_model("llama").double()
    ids = prompt_ids(10)
    full = screen_prompt(model, ids, tokens=96)
    top = screen_prompt(model, ids, tokens=4)
    assert top.mass < 1.0 and top.cost.backwards == 4 and full.cost.backwards == 96
    for h, v in top.kl.items():  # every term is non-negative, so the truncated sum is below the full one
        assert 0.0 <= v <= full.kl[h] + 1e-12


def test_screen_ranks_like_the_exact_sweep():
    """The screen's ranking against the exact sweep's on tiny random models of three families: Spearman above 0.8
    (measured 0.95 to 0.99; the accuracy on real and larger models is measured in benchmarks/bench_screen.py)."""
    for family in ("llama", "gpt2", "gpt_neox"):
        model = tiny_model(family).double()
        ids = prompt_ids(12)
        screen = screen_prompt(model, ids, tokens=16)
        exact = ships_for_prompt(Engine(model), ids, list(screen.kl))
        heads = list(screen.kl)
        s_rank = torch.tensor([screen.kl[h] for h in heads]).argsort().argsort().double()
        e_rank = torch.tensor([exact[h] for h in heads]).argsort().argsort().double()
        rho = float(torch.corrcoef(torch.stack([s_rank, e_rank]))[0, 1])
        assert rho > 0.8, family


def test_screen_leaves_the_model_as_it_was():
    model = tiny_model("llama")
    ids = prompt_ids(8)
    with torch.no_grad():
        before = model(input_ids=ids).logits
    screen_prompt(model, ids, tokens=3)
    assert all(p.requires_grad for p in model.parameters())
    assert all(p.grad is None for p in model.parameters())
    with torch.no_grad():
        after = model(input_ids=ids).logits
    torch.testing.assert_close(after, before)
    with ablated(model, [Head(0, 0)]), pytest.raises(Exception, match="unablated model"):
        screen_prompt(model, ids)


def test_exact_sweep_cost_counts_reused_layers():
    shape = model_shape(tiny_model("llama"))
    # 3 layers x 4 heads: capture 1 + 4 x (3/3 + 2/3 + 1/3)
    assert exact_sweep_cost(shape, AblationSpec()) == pytest.approx(1 + 4 * 2)


# ---------------------------------------------------------------------------------------- plans on the device


def test_plans_take_the_model_dtype_once_and_a_misplaced_plan_fails():
    model = tiny_model("llama").to(torch.bfloat16)
    shape = model_shape(model)
    plan = AblationPlan.build([[Head(1, 2)], [Head(2, 0)]], AblationSpec(), shape)
    assert plan.layers[1].q_scale.dtype == torch.float32
    with using_plan(model, plan) as state:
        placed = state.plan.layers[1].q_scale
        assert placed.dtype == torch.bfloat16 and placed.device == next(model.parameters()).device
    meta = AblationPlan(rows=plan.rows, spec=plan.spec, shape=shape, layers={1: plan.layers[1].placed_like(
        torch.empty(0, device="meta"))})  # fmt: skip
    state = model._safetyheads_state
    state.plan = meta  # as if a plan skipped using_plan: the attention call refuses to copy it
    try:
        with pytest.raises(RuntimeError, match="ablation plan on meta"), torch.no_grad():
            model(input_ids=prompt_ids(6).expand(2, -1))
    finally:
        state.plan = None


def test_bfloat16_sweep_matches_float32():
    """Stated tolerance (docs/screen.md): bfloat16 Ships within 0.02 + 10% of float32, same top head; the screen's
    estimates within 0.02 + 15%."""
    model32 = tiny_model("llama")
    model16 = tiny_model("llama").to(torch.bfloat16)
    ids = prompt_ids(12)
    heads = model_shape(model32).all_heads()
    e32 = ships_for_prompt(Engine(model32), ids, heads)
    e16 = ships_for_prompt(Engine(model16), ids, heads)
    for h in heads:
        assert e16[h] == pytest.approx(e32[h], rel=0.10, abs=0.02)
    assert max(heads, key=e16.get) == max(heads, key=e32.get)
    s32 = screen_prompt(model32, ids, tokens=8).kl
    s16 = screen_prompt(model16, ids, tokens=8).kl
    for h in heads:
        assert s16[h] == pytest.approx(s32[h], rel=0.15, abs=0.02)


# ---------------------------------------------------------------------------------------------------- the CLI

PROMPTS = ["How do I pick a lock?", "Tell me a story.", "Write a poem about rain."]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return save_tiny("llama", tmp_path_factory.mktemp("tiny") / "llama")


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_cli_screen_verifies_the_top_heads_exactly_and_resumes(tiny_dir, tmp_path, capsys):
    prompts = tmp_path / "p.txt"
    prompts.write_text("\n".join(PROMPTS) + "\n")
    out = tmp_path / "run"
    args = ["ships", "--model", tiny_dir, "--prompts", str(prompts), "--template", "query", "--out", str(out),
            "--method", "screen", "--verify-top", "3"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "screened Ships" in " ".join(printed.split()) and "Exact Ships of the 3 best" in " ".join(printed.split())
    screened = _lines(out / "screen.jsonl")
    verified = _lines(out / "verified.jsonl")
    assert [r["method"] for r in screened] == ["screen"] * 3 and [r["method"] for r in verified] == ["exact"] * 3

    model, tok = load_model(tiny_dir)
    encoded = prepare(tok, PROMPTS, "query")
    for line, (_text, ids) in zip(screened, encoded, strict=True):
        direct = screen_prompt(model, ids)
        assert line["scores"][1][2] == pytest.approx(direct.kl[Head(1, 2)], rel=1e-6)
    # the three verified heads are the screen's best three by mean, with the exact sweep's scores
    means = {Head(la, h): sum(r["scores"][la][h] for r in screened) / 3 for la in range(3) for h in range(4)}
    top3 = sorted(means, key=lambda h: (-means[h], h))[:3]
    exact = sweep_ships(model, encoded, heads=top3)
    for line, res in zip(verified, exact, strict=True):
        for h in top3:
            assert line["scores"][h.layer][h.head] == pytest.approx(res.scores[h.layer][h.head], rel=1e-6)
        others = [line["scores"][la][h] for la in range(3) for h in range(4) if Head(la, h) not in top3]
        assert others == [None] * 9
    csv_text = (out / "verified_mean.csv").read_text().splitlines()
    assert csv_text[0].startswith("exact_rank,screen_rank") and len(csv_text) == 4

    before = (out / "screen.jsonl").read_text(), (out / "verified.jsonl").read_text()
    assert main(args) == 0  # a rerun resumes: nothing is recomputed
    captured = capsys.readouterr()
    assert "resuming: 3 of 3" in captured.out + captured.err
    assert ((out / "screen.jsonl").read_text(), (out / "verified.jsonl").read_text()) == before
    assert main([*args[:-1], "5"]) == 2  # another --verify-top: refused, not mixed


def test_cli_screen_options_that_do_nothing_are_refused(tiny_dir, tmp_path, capsys):
    base = ["--model", tiny_dir, "--dataset", "advbench", "--limit", "2", "--out", str(tmp_path / "r")]
    assert main(["ships", *base, "--verify-top", "3"]) == 2
    assert main(["ships", *base, "--screen-tokens", "3"]) == 2
    assert main(["ships", *base, "--method", "fast"]) == 2
    assert main(["ships", *base, "--method", "screen", "--score", "contrastive"]) == 2
    assert main(["sahara", *base, "--pool", "screen:4", "--heads", "0-1,1-2"]) == 2
    assert main(["sahara", *base, "--pool", "top:4"]) == 2
    assert main(["sahara", *base, "--screen-tokens", "4"]) == 2
    err = capsys.readouterr().err
    assert "--verify-top apply to --method screen" in err and "give one" in err
    # more heads to verify than are screened: an error before the screen, not a shorter verification
    screen = ["ships", *base[:-1], str(tmp_path / "s"), "--method", "screen", "--heads", "0-1,1-2", "--verify-top"]
    assert main([*screen, "3"]) == 2
    assert "--verify-top 3, but only 2 heads are screened" in capsys.readouterr().err
    assert not (tmp_path / "s" / "screen.jsonl").exists()
    assert main([*screen[:-3], "--screen-tokens", "0"]) == 2  # not quietly the default 8
    assert main(["sahara", *base, "--pool", "screen:2", "--screen-tokens", "0"]) == 2
    with pytest.raises(SafetyHeadsError, match="--screen-tokens must be at least 1, not 0"):
        sahara_run(tmp_path / "p", model=tiny_dir, texts=["Hi"], pool="screen:2", screen_tokens=0)


def test_cli_sahara_searches_the_screened_pool(tiny_dir, tmp_path):
    prompts = tmp_path / "p.txt"
    prompts.write_text("\n".join(PROMPTS) + "\n")
    out = tmp_path / "run"
    args = ["sahara", "--model", tiny_dir, "--prompts", str(prompts), "--template", "query", "--out", str(out),
            "--steps", "2", "--pool", "screen:4"]  # fmt: skip
    assert main(args) == 0
    pool = {Head(*h) for h in json.loads((out / "pool.json").read_text())["heads"]}
    assert len(pool) == 4
    result = json.loads((out / "sahara.json").read_text())
    assert {Head(*h) for h in result["group"]} <= pool
    first = result["steps"][0]["scores"]
    scored = {Head(la, h) for la, row in enumerate(first) for h, v in enumerate(row) if v is not None}
    assert scored == pool  # only the pool was swept
    assert main(args) == 0  # resume reads the same pool
    # stopped after the screen, before the first step was saved: the pool is a result, so other settings are refused
    (out / "sahara.json").unlink()
    assert main([*args, "--epsilon", "0.001"]) == 2
    assert main(args) == 0  # the original settings resume from the saved pool
