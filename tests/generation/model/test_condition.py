import numpy as np
import pytest

from generation.model.condition import (
    CONDITION_FIELDS,
    PERSONA_VECTOR_LENGTH,
    persona_vector_from,
    validate_persona_batch,
    validate_persona_vector,
)


def test_vector_layout_and_normalisation():
    vector = persona_vector_from({"L0": 2, "cultural": 2}, sentiment=-0.5, kansei={"warm": 1.0})
    assert vector.shape == (PERSONA_VECTOR_LENGTH,) == (13,)
    assert vector.dtype == np.float32
    assert vector[0] == pytest.approx(0.5) and vector[2] == pytest.approx(0.5)
    assert vector[:6].sum() == pytest.approx(1.0)
    assert vector[6] == pytest.approx(-0.5)
    assert vector[CONDITION_FIELDS.index("kansei_warm")] == 1.0
    assert vector[CONDITION_FIELDS.index("kansei_simple")] == 0.5  # neutral when missing


def test_all_zero_demand_is_uniform():
    vector = persona_vector_from({}, sentiment=0.0)
    assert np.allclose(vector[:6], 1 / 6)


@pytest.mark.parametrize(
    "demand, sentiment, kansei, message",
    [
        ({"L9": 1}, 0, {}, "unknown demand type"),
        ({"L0": -1}, 0, {}, ">= 0"),
        ({"L0": 1}, 1.5, {}, "sentiment"),
        ({"L0": 1}, float("nan"), {}, "finite"),
        ({"L0": 1}, 0, {"cute": 0.5}, "unknown Kansei"),
        ({"L0": 1}, 0, {"warm": 7}, "Kansei score"),
    ],
)
def test_bad_persona_inputs_raise(demand, sentiment, kansei, message):
    with pytest.raises(ValueError, match=message):
        persona_vector_from(demand, sentiment, kansei)


def test_wrong_length_and_nan_vectors_raise():
    with pytest.raises(ValueError, match="length 13"):
        validate_persona_vector(np.zeros(12))
    bad = np.full(13, 0.2)
    bad[4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        validate_persona_vector(bad)
    with pytest.raises(ValueError, match="numeric"):
        validate_persona_vector(["a"] * 13)


def test_batch_accepts_one_or_many():
    vector = persona_vector_from({"L1": 1}, 0.2)
    assert validate_persona_batch(vector).shape == (1, 13)
    assert validate_persona_batch([vector, vector, vector]).shape == (3, 13)
    with pytest.raises(ValueError):
        validate_persona_batch(np.zeros((2, 3, 13)))
