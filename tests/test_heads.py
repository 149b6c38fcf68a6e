import pytest

from safetyheads.core.heads import describe_unit, parse_heads, validate_heads
from safetyheads.types import AblationSpec, Head, ModelShape, SafetyHeadsError

SHAPE = ModelShape(n_layers=32, n_heads=32, n_kv_heads=8, head_dim=128, hidden_size=4096, vocab_size=32000)


def test_all_three_notations_and_lists():
    assert parse_heads("2-26") == [Head(2, 26)]
    assert parse_heads("2.26") == [Head(2, 26)]
    assert parse_heads("L2H26") == [Head(2, 26)]
    assert parse_heads("l2h26") == [Head(2, 26)]
    assert parse_heads("3-8, 2.26,L2H26") == [Head(2, 26), Head(3, 8)]
    assert parse_heads([(1, 2), "0-0"]) == [Head(0, 0), Head(1, 2)]


@pytest.mark.parametrize("bad", ["2", "2-", "L2", "a-b", "2--3", "H2L3"])
def test_malformed_heads_are_rejected(bad):
    with pytest.raises(SafetyHeadsError, match="cannot read head"):
        parse_heads(bad)


def test_range_errors_name_the_model_counts():
    with pytest.raises(SafetyHeadsError, match=r"32 layers \(0-31\) and 32 heads per layer \(0-31\)"):
        validate_heads([Head(32, 0)], SHAPE)
    with pytest.raises(SafetyHeadsError, match=r"8 key heads per layer"):
        validate_heads([Head(0, 8)], SHAPE, AblationSpec.parse("ua-k"))
    assert validate_heads([Head(31, 31)], SHAPE) == [Head(31, 31)]


def test_ua_k_names_the_query_group():
    text = describe_unit(Head(2, 1), SHAPE, AblationSpec.parse("ua-k"))
    assert "query heads 4-7" in text


def test_unknown_ablation_kind():
    with pytest.raises(ValueError, match="choose one of"):
        AblationSpec.parse("ua-v")
