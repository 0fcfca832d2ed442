"""Provenance travels: what computed a pool's columns rides on the Dataset (map, select, filter,
add_column, save_to_disk), and save_selection / the card name the scorers with no extra
arguments; a `deita-hf score` folder read by load_pool carries its components."""

from __future__ import annotations

import json

import pytest
from datasets import Dataset, concatenate_datasets, load_from_disk
from huggingface_hub import DatasetCard

from deita_hf.components import apply_components, build_scorer
from deita_hf.data.loading import load_pool
from deita_hf.data.provenance import (
    column_provenance,
    forget,
    score_run_provenance,
    with_provenance,
)
from deita_hf.hub import save_selection
from deita_hf.pipeline import DatasetSelector
from deita_hf.scoring import InstructionLengthScorer, ResponseLengthScorer

RECORD = {"name": "hkust-nlp/deita-quality-scorer", "revision": "abc", "kind": "model",
          "column": "quality", "compute_dtype": "float32"}


def test_record_survives_datasets_operations(tmp_path):
    ds = Dataset.from_dict({"instruction": ["a", "bb", "ccc"], "quality": [[1.0], [2.0], [3.0]]})
    ds.info.description = "the user's own description"
    ds = with_provenance(ds, {"quality": RECORD})
    derived = {
        "map": ds.map(lambda b: {"n": [len(x) for x in b["instruction"]]}, batched=True),
        "select": ds.select([2, 0]),
        "filter": ds.filter(lambda r: len(r["instruction"]) > 1),
        "add_column": ds.add_column("deita_score", [1.0, 2.0, 3.0]),
        "rename": ds.rename_column("instruction", "prompt"),
        "shuffle": ds.shuffle(seed=0),
    }
    ds.save_to_disk(str(tmp_path / "disk"))
    derived["save_to_disk"] = load_from_disk(str(tmp_path / "disk"))
    for name, out in derived.items():
        assert column_provenance(out) == {"quality": RECORD}, name
        assert out.info.description.startswith("the user's own description"), name
    assert column_provenance(ds.remove_columns("quality")) == {}
    assert column_provenance(forget(ds.select([0]), ["quality"])) == {}
    assert column_provenance(ds) == {"quality": RECORD}  # forget changed only its own copy


def test_concatenation_keeps_agreeing_records_only():
    a = with_provenance(Dataset.from_dict({"quality": [[1.0]], "complexity": [[1.0]]}),
                        {"quality": RECORD, "complexity": {"name": "c1"}})
    b = with_provenance(Dataset.from_dict({"quality": [[2.0]], "complexity": [[2.0]]}),
                        {"quality": RECORD, "complexity": {"name": "c2"}})
    assert column_provenance(concatenate_datasets([a, b])) == {"quality": RECORD}


def test_apply_components_records_each_components_describe():
    ds = Dataset.from_dict({"instruction": ["Hi there", "Yo"], "output": ["Hello", "Hey"]})
    scorer = build_scorer("complexity", "length")
    out = apply_components(ds, [scorer], progress=False).select([1])
    assert column_provenance(out) == {"complexity": scorer.describe()}
    assert column_provenance(ds) == {}  # the input is left as it was


def _settings(folder):
    return json.loads((folder / "deita_selection.json").read_text(encoding="utf-8"))


def test_score_select_save_names_the_scorers_without_extra_arguments(tmp_path, pool):
    """DatasetSelector.score -> select(return_stats=True) -> save_selection(rows, DIR, stats=)."""
    bare = pool.remove_columns(["complexity", "quality"])
    selector = DatasetSelector(InstructionLengthScorer(), ResponseLengthScorer(), None)
    scored = selector.score(bare, progress=False, warn=False)
    selected, stats = selector.select(scored, 10, return_stats=True, progress=False)
    out = save_selection(selected, tmp_path / "sel", stats=stats)
    scorers = _settings(out)["scorers"]
    assert scorers["complexity"] == InstructionLengthScorer().describe()
    assert scorers["quality"] == ResponseLengthScorer().describe()
    assert _settings(out)["paper_setup"] is False
    text = DatasetCard.load(out / "README.md").text
    assert "| complexity | `instruction-length` |" in text
    assert "| quality | `response-length` |" in text
    assert "no scorer ran" not in text and "precomputed" not in text


def _score_folder(tmp_path, rows):
    """A finished `deita-hf score` folder, written by the ScoreRun every engine uses."""
    from deita_hf.pipeline.score_run import ScoreRun, run_settings

    components = [InstructionLengthScorer(), ResponseLengthScorer()]
    run = ScoreRun(tmp_path / "scored",
                   {**run_settings(rows, components, shard_size=100, source="pool.jsonl"),
                    "engine": {"name": "local"}})
    run.prepare(overwrite=False)
    for i in run.missing():
        part = rows.select(run.rows(i))
        for component in components:
            part = part.map(component, batched=True, with_indices=True)
        run.write_shard(i, part, tag="test")
    return run.assemble(), components


def test_score_folder_provenance_reaches_the_card(tmp_path, pool):
    """A pool read back from a score folder, selected with its columns as given (the card's
    'precomputed'), is saved naming the score run's scorers."""
    folder, components = _score_folder(tmp_path, pool.remove_columns(["complexity", "quality"]))
    scored = load_pool(folder)
    assert column_provenance(scored) == {"complexity": components[0].describe(),
                                         "quality": components[1].describe()}
    assert score_run_provenance(scored)["engine"] == {"name": "local"}
    selector = DatasetSelector(None, None, None)
    selected, stats = selector.select(scored, 8, return_stats=True, progress=False)
    out = save_selection(selected, tmp_path / "sel", stats=stats,
                         settings={"scorers": selector.card_scorers()}, pool=scored)
    settings = _settings(out)
    assert settings["scorers"]["complexity"]["name"] == "instruction-length"
    assert settings["scorers"]["quality"]["name"] == "response-length"
    assert settings["scorers"]["embedder"]["kind"] == "precomputed"  # nothing recorded it
    assert settings["score_run"]["folder"] == str(folder)
    text = DatasetCard.load(out / "README.md").text
    assert "| complexity | `instruction-length` |" in text
    assert "column 'complexity' of the input" not in text
    assert f"| scored by | `deita-hf score` (local engine) into `{folder}` |" in text
    assert f"deita-hf select {folder} --budget 8" in text  # the reproduce command's pool
    # a selection folder read back carries its scorers too (re-selection, training data)
    again = load_pool(out)
    assert column_provenance(again)["quality"] == components[1].describe()


def test_settings_that_name_the_scorers_win(tmp_path, pool):
    rows = with_provenance(pool.select(range(20)), {"quality": RECORD})
    from deita_hf.selection import select_deita

    selected, stats = select_deita(rows, 5, return_stats=True, progress=False)
    named = {"quality": {"name": "my-own", "kind": "model"}}
    out = save_selection(selected, tmp_path / "sel", stats=stats, settings={"scorers": named})
    assert _settings(out)["scorers"] == named


@pytest.mark.parametrize("strategy", ["random"])
def test_a_strategy_that_read_no_scores_lists_no_scorer(tmp_path, pool, strategy):
    from deita_hf.selection.dispatch import select

    rows = with_provenance(pool.select(range(20)), {"quality": RECORD})
    selected, stats = select(rows, 5, strategy, return_stats=True)
    out = save_selection(selected, tmp_path / "sel", stats=stats)
    assert not _settings(out).get("scorers")


def test_model_card_of_a_model_trained_on_it_repeats_the_scorers(tmp_path, pool):
    from deita_hf.training.model_card import read_data_provenance, render_model_card

    folder, _ = _score_folder(tmp_path, pool.remove_columns(["complexity", "quality"]))
    scored = load_pool(folder)
    selector = DatasetSelector(None, None, None)
    selected, stats = selector.select(scored, 8, return_stats=True, progress=False)
    out = save_selection(selected, tmp_path / "sel", stats=stats,
                         settings={"scorers": selector.card_scorers()})
    card = render_model_card(stage="sft", base_model="b", provenance=read_data_provenance(
        str(out)), hparams={}, model_name="m")
    assert "| complexity scorer | `instruction-length` (length-baseline) |" in card.text
    assert "| quality scorer | `response-length` (length-baseline) |" in card.text
    assert f"| scored by | `deita-hf score` into `{folder}` |" in card.text
