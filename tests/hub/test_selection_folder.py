"""save_selection: the Hub-layout folder, its card, settings file and figures."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from datasets import Dataset, get_dataset_config_names, load_dataset
from huggingface_hub import DatasetCard
from sample_data import lima_style_rows, training_rows

from deita_hf.hub import complete_folder, save_selection
from deita_hf.folder.stats import selection_statistics

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _rows(ds):
    return ds.to_list()


def test_layout_is_exactly_the_hub_layout(folder):
    entries = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert entries == [
        "README.md", "data/train-00000-of-00001.parquet", "deita_selection.json",
        "embeddings/train-00000-of-00001.parquet", "figures/lengths.png", "figures/max_similarity.png", "figures/scores.png",
        "pool/train-00000-of-00001.parquet",
    ]


def test_folder_round_trip_gives_back_rows_columns_and_configs(folder, selection, scored_pool):
    selected, _ = selection
    assert sorted(get_dataset_config_names(str(folder))) == ["default", "embeddings", "pool"]
    loaded = load_dataset(str(folder), split="train")
    assert loaded.column_names == [c for c in selected.column_names if c != "embedding"] + [
        "messages"]
    assert _rows(loaded) == training_rows(selected)
    vectors = load_dataset(str(folder), "embeddings", split="train")
    assert vectors.column_names == ["row", "deita_rank", "embedding"]
    assert vectors["row"][:] == list(range(len(selected)))
    assert vectors["deita_rank"][:] == selected["deita_rank"][:]
    assert vectors["embedding"][:] == selected["embedding"][:]  # float32 values, kept exactly
    pool = load_dataset(str(folder), "pool", split="train")
    assert pool.column_names == scored_pool.column_names
    assert _rows(pool) == _rows(scored_pool)
    # the package's reader puts the vectors back beside the rows
    from deita_hf.hub import load_folder

    back, _, _ = load_folder(folder)
    assert _rows(back.remove_columns("messages")) == _rows(selected)


def test_real_select_deita_output_round_trips(tmp_path, pool, scored_pool):
    """select_deita's rows and stats go in as they are; the pool's score is computed."""
    from deita_hf.selection import select_deita

    selected, stats = select_deita(pool, 20, threshold=0.5, return_stats=True, progress=False)
    settings = {**stats.to_dict(), "deita_hf_version": "0.1.0", "created_at": "now",
                "input": "dolly+mt_bench", "scorers": None}
    out = save_selection(selected, tmp_path / "real", settings=settings, pool=pool,
                         include_pool=True)
    assert load_dataset(str(out), split="train").to_list() == training_rows(selected)
    loaded_pool = load_dataset(str(out), "pool", split="train")
    assert loaded_pool.column_names == [*pool.column_names, "deita_score"]
    assert loaded_pool["deita_score"] == pytest.approx(scored_pool["deita_score"])
    text = DatasetCard.load(out / "README.md").text
    assert f"| rows examined | {stats.examined} |" in text
    assert "over 19 rows" in text  # max_similarity: every kept row but the first


def test_settings_file_is_the_settings(folder, selection):
    _, settings = selection
    saved = json.loads((folder / "deita_selection.json").read_text())
    publishing = saved.pop("publishing")
    assert saved == settings
    assert publishing["license"] == "cc-by-sa-3.0"
    assert publishing["include_pool"] is True
    assert publishing["source_datasets"] is None  # 'dolly' and a local input are not Hub ids


def test_card_parses_and_carries_metadata(folder, selection):
    selected, settings = selection
    card = DatasetCard.load(folder / "README.md")
    data = card.data
    assert data.license == "cc-by-sa-3.0"
    assert data.source_datasets is None
    assert {"deita", "data-selection", "test"} <= set(data.tags)
    assert data.size_categories == ["n<1K"]
    assert data.task_categories == ["text-generation"]
    assert data.annotations_creators == ["machine-generated"]
    assert data.pretty_name.startswith("DEITA selection: 30 rows")
    configs = {c["config_name"]: c["data_files"][0]["path"] for c in data.configs}
    assert configs == {"default": "data/train-*", "embeddings": "embeddings/train-*",
                       "pool": "pool/train-*"}
    text = card.text
    for needle in ("hkust-nlp/deita-complexity-scorer", "`abc123`", "`def456`",
                   "| pool size | 200 |", "| budget (rows wanted) | 30 |", "| rows kept | 30 |",
                   "| deita_hf version | 0.1.0 |", "(figures/scores.png)",
                   "(figures/max_similarity.png)", "deita-hf select tests/dolly+mt_bench"):
        assert needle in text, needle


def test_card_statistics_match_the_data(folder, selection, scored_pool):
    selected, _ = selection
    text = DatasetCard.load(folder / "README.md").text
    med_sel = float(np.median(selected["deita_score"]))
    med_pool = float(np.median(scored_pool["deita_score"]))
    row_sel = next(line for line in text.splitlines()
                   if line.startswith("| DEITA score (per row) | selected |"))
    row_pool = next(line for line in text.splitlines()
                    if line.startswith("| DEITA score (per row) | pool |"))
    assert row_sel.split("|")[8].strip() == f"{med_sel:,.3f}"
    assert row_pool.split("|")[8].strip() == f"{med_pool:,.3f}"
    n_dolly_sel = sum(s == "dolly" for s in selected["source"])
    n_dolly_pool = sum(s == "dolly" for s in scored_pool["source"])
    row = next(line for line in text.splitlines() if line.startswith("| dolly |"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[1] == str(n_dolly_sel) and cells[3] == str(n_dolly_pool)
    assert cells[2] == f"{100 * n_dolly_sel / len(selected):.1f}%"
    # example rows: the first-ranked row is shown first
    top = selected[0]
    assert f"**Rank 0** (DEITA score {top['deita_score']:,.3f}" in text
    assert top["instruction"][:60] in text


def test_figures_are_real_pngs(folder):
    import matplotlib.image as mpimg

    for name in ("scores.png", "max_similarity.png", "lengths.png"):
        path = folder / "figures" / name
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        img = mpimg.imread(path)
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
        assert float(img[..., :3].std()) > 0.01  # not a blank image


def test_refuses_non_empty_folder_and_overwrites_on_request(tmp_path, selection):
    selected, settings = selection
    out = tmp_path / "sel"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    with pytest.raises(FileExistsError, match="not empty.*overwrite=True"):
        save_selection(selected, out, settings=settings)
    assert (out / "stale.txt").exists()
    save_selection(selected, out, settings=settings, overwrite=True)
    assert not (out / "stale.txt").exists()
    assert len(load_dataset(str(out), split="train")) == len(selected)
    # rewritten with other rows: load_dataset must not serve the first version from its cache
    save_selection(selected.select(range(5)), out, settings=settings, overwrite=True)
    assert _rows(load_dataset(str(out), split="train")) == training_rows(selected.select(range(5)))
    assert get_dataset_config_names(str(out)) == ["default", "embeddings"]


def test_empty_selection_and_bad_arguments_give_clear_errors(tmp_path, selection):
    selected, settings = selection
    with pytest.raises(ValueError, match="selection is empty"):
        save_selection(selected.select([]), tmp_path / "a", settings=settings)
    with pytest.raises(ValueError, match="include_pool=True needs the scored pool"):
        save_selection(selected, tmp_path / "b", settings=settings, include_pool=True)
    with pytest.raises(ValueError, match="JSON-serialisable"):
        save_selection(selected, tmp_path / "c", settings={**settings, "x": object()})
    with pytest.raises(ValueError, match="no 'deita_score' column"):
        save_selection(selected.remove_columns("deita_score"), tmp_path / "d", settings=settings)
    bad = selected.remove_columns("quality").add_column(
        "quality", [None] + [[1.0]] * (len(selected) - 1))
    with pytest.raises(ValueError, match="Column 'quality', row 0"):
        save_selection(bad, tmp_path / "e", settings=settings)
    assert not any((tmp_path / n).exists() for n in "abcde")


def test_without_pool_the_card_describes_the_selection_only(tmp_path, selection):
    selected, settings = selection
    out = save_selection(selected, tmp_path / "nopool", settings={**settings, "scorers": None})
    text = DatasetCard.load(out / "README.md").text
    assert "The scored pool was not available" in text
    assert "The pool came already scored" in text
    assert "| DEITA score (per row) | pool |" not in text
    assert get_dataset_config_names(str(out)) == ["default", "embeddings"]


def test_multi_turn_rows_count_turns():
    lima = Dataset.from_list(lima_style_rows())  # LIMA's schema: earlier turns in `history`
    multi = lima.filter(lambda r: bool(r["history"])).select(range(5))
    rows = lima.select(range(10))
    ds = Dataset.from_list([*rows.to_list(), *multi.to_list()])
    n_turns = [1 + len(h or []) for h in ds["history"]]
    ds = ds.add_column("complexity", [[2.0] * n for n in n_turns])
    ds = ds.add_column("quality", [[3.0] * n for n in n_turns])
    ds = ds.add_column("deita_score", [6.0 * n for n in n_turns])
    stats = selection_statistics(ds, None, {})
    assert stats["values"]["selected"]["turns"].tolist() == [float(n) for n in n_turns]
    counts = {r["turns"]: r["selected"] for r in stats["turn_counts"]}
    assert sum(counts.values()) == len(ds) and max(counts) > 1
    complexity = next(m for m in stats["measures"] if m["name"] == "complexity")
    assert complexity["selected"]["n"] == sum(n_turns)  # one value per turn
    assert stats["sources"] is None and stats["max_similarity"] is None


def test_complete_folder_adds_card_and_figures_to_a_plain_select_output(tmp_path, selection):
    selected, settings = selection
    plain = tmp_path / "plain"
    (plain / "data").mkdir(parents=True)
    selected.to_parquet(str(plain / "data" / "train-00000-of-00001.parquet"))
    (plain / "deita_selection.json").write_text(json.dumps(settings))
    complete_folder(plain)
    assert DatasetCard.load(plain / "README.md").data.configs[0]["config_name"] == "default"
    assert (plain / "figures" / "scores.png").read_bytes()[:8] == PNG_SIGNATURE
    assert _rows(load_dataset(str(plain), split="train")) == training_rows(selected)
    assert math.isclose(json.loads((plain / "deita_selection.json").read_text())["threshold"], 0.9)


def test_card_metadata_follows_the_hub_conventions(tmp_path, selection):
    """created at filled, source_datasets only Hub ids, --max-length in the reproduce command."""
    from deita_hf.errors import ConfigError

    selected, settings = selection
    bare = {k: v for k, v in settings.items() if k not in ("created_at", "deita_hf_version")}
    hub_pool = {**bare, "input": "tatsu-lab/alpaca", "max_length": 512}
    rows = selected.map(lambda r: {"source": "databricks/databricks-dolly-15k"})
    out = save_selection(rows, tmp_path / "hub", settings=hub_pool)
    card = DatasetCard.load(out / "README.md")
    assert card.data.source_datasets == ["tatsu-lab/alpaca", "databricks/databricks-dolly-15k"]
    created = json.loads((out / "deita_selection.json").read_text())["created_at"]
    assert created and f"| created at | {created} |" in card.text
    assert "--max-length 512" in card.text and "| max length (tokens) | 512 |" in card.text
    assert card.data.size_categories == ["n<1K"]

    local = save_selection(selected, tmp_path / "local",
                           settings={**bare, "input": str(tmp_path / "pool.jsonl")})
    assert DatasetCard.load(local / "README.md").data.source_datasets is None
    with pytest.raises(ConfigError, match="'data/pool.jsonl' is not a Hub dataset id"):
        save_selection(selected, tmp_path / "bad", settings=bare,
                       source_datasets=["data/pool.jsonl"])
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("rows, expected", [(999, "n<1K"), (1000, "1K<n<10K"),
                                            (6000, "1K<n<10K"), (10_000, "10K<n<100K"),
                                            (2_500_000, "1M<n<10M")])
def test_size_category_is_one_of_the_hubs_values(rows, expected):
    from huggingface_hub.repocard_data import DatasetCardData

    from deita_hf.hub.card import size_category

    assert size_category(rows) == expected
    assert expected in DatasetCardData.__doc__  # the Hub's documented values
