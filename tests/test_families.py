import pytest
import torch
from models import FAMILIES, tiny_model
from transformers import OPTConfig, OPTForCausalLM

from safetyheads.core.ablation import install
from safetyheads.core.families import FAMILIES as TABLE
from safetyheads.core.families import attention_modules, decoder_layers, model_shape
from safetyheads.scores.ships import sweep_ships
from safetyheads.types import SafetyHeadsError


@pytest.mark.parametrize("family", FAMILIES)
def test_table_finds_layers_and_attention(family):
    model = tiny_model(family)
    shape = model_shape(model)
    assert len(decoder_layers(model)) == shape.n_layers == 3
    assert len(attention_modules(model)) == 3
    assert shape.n_heads == 4 and shape.head_dim == 16


def test_every_table_row_is_tested():
    assert set(FAMILIES) == set(TABLE)


def test_unsupported_family_fails_clearly_before_any_number():
    cfg = OPTConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, ffn_dim=64, num_attention_heads=4)
    model = OPTForCausalLM(cfg).eval()
    with pytest.raises(SafetyHeadsError, match=r"'opt' is not supported.*supported: .*llama"):
        install(model)
    with pytest.raises(SafetyHeadsError, match="not supported"):
        sweep_ships(model, [("p", torch.tensor([[1, 2, 3]]))])
