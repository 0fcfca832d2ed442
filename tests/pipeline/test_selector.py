"""DatasetSelector: score with the three components, then select with select_deita."""

import pytest
from datasets import Dataset

from deita_hf.embedding import DeitaEmbedder, SentenceEmbedder
from deita_hf.pipeline.selector import DatasetSelector
from deita_hf.scoring import (
    ComplexityScorer,
    InstructionLengthScorer,
    QualityScorer,
    ResponseLengthScorer,
)


def test_score_and_select_end_to_end(tiny_chat_llama, dolly_rows):
    ds = Dataset.from_list(dolly_rows[:20])
    sel = DatasetSelector(complexity_scorer=ComplexityScorer(tiny_chat_llama, batch_size=8),
                          quality_scorer=ResponseLengthScorer(),
                          embedder=SentenceEmbedder(), threshold=0.9)
    scored = sel.score(ds, batch_size=10)
    assert {"complexity", "quality", "embedding"} <= set(scored.column_names)
    assert scored["quality"][3] == [float(len(dolly_rows[3]["output"]))]
    picked = sel.select(scored, 5, progress=False)
    assert len(picked) == 5 and set(ds.column_names) <= set(picked.column_names)
    # the first pick is the highest complexity x quality
    totals = [c[0] * q[0] for c, q in zip(scored["complexity"], scored["quality"])]
    assert picked[0]["instruction"] == dolly_rows[max(range(20), key=totals.__getitem__)]["instruction"]
    d = sel.describe()
    assert d["quality_scorer"]["kind"] == "length-baseline" and d["threshold"] == 0.9


def test_missing_component_uses_existing_column_with_warning(dolly_rows):
    ds = Dataset.from_list(dolly_rows[:4]).add_column("embedding", [[1.0, 0.0]] * 4)
    sel = DatasetSelector(InstructionLengthScorer(), ResponseLengthScorer(), None)
    with pytest.warns(UserWarning, match="no embedding component"):
        out = sel.score(ds)
    assert out["embedding"] == ds["embedding"]
    with pytest.raises(ValueError, match="no 'embedding' column"):
        DatasetSelector(InstructionLengthScorer(), ResponseLengthScorer(), None).score(
            Dataset.from_list(dolly_rows[:2]))


def test_from_pretrained_defaults_are_lazy_and_fail_clearly_offline(dolly_rows):
    sel = DatasetSelector.from_pretrained()
    assert isinstance(sel.complexity_scorer, ComplexityScorer)
    assert sel.complexity_scorer.model_name_or_path == "hkust-nlp/deita-complexity-scorer"
    assert isinstance(sel.quality_scorer, QualityScorer)
    assert sel.quality_scorer.model_name_or_path == "hkust-nlp/deita-quality-scorer"
    # the default is the `deita` preset: scorers in float32, DeitaEmbedder on Mistral-7B
    assert sel.preset == "deita" and sel.complexity_scorer.dtype == "float32"
    assert isinstance(sel.embedder, DeitaEmbedder)
    assert sel.embedder.model_name_or_path == "mistralai/Mistral-7B-v0.1"
    with pytest.raises(OSError, match="HF_HUB_OFFLINE.*--complexity-scorer length"):
        sel.score(Dataset.from_list(dolly_rows[:2]))
    baseline = DatasetSelector.from_pretrained("length", "length")
    assert baseline.describe()["complexity_scorer"]["name"] == "instruction-length"


def test_score_warns_before_replacing_an_existing_column():
    import pytest
    from datasets import Dataset

    from deita_hf.pipeline.selector import DatasetSelector
    from deita_hf.scoring import InstructionLengthScorer

    ds = Dataset.from_dict({"instruction": ["ab", "abcd"], "output": ["x", "y"],
                            "complexity": [[9.0], [9.0]], "quality": [[1.0], [1.0]],
                            "embedding": [[1.0, 0.0], [0.0, 1.0]]})
    sel = DatasetSelector(complexity_scorer=InstructionLengthScorer())
    with pytest.warns(UserWarning) as record:
        out = sel.score(ds)
    messages = [str(w.message) for w in record]
    assert any("replacing the dataset's existing 'complexity'" in m for m in messages)
    assert any("no quality component; using the existing 'quality'" in m for m in messages)
    assert out["complexity"][:] == [[2.0], [4.0]]
    assert out["quality"][:] == [[1.0], [1.0]]
