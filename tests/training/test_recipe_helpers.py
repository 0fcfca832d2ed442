"""resolve_checkpoint and RecipeArguments validation."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from deita_hf.training import RecipeArguments, resolve_checkpoint


def args(tmp_path, value):
    return SimpleNamespace(resume_from_checkpoint=value, output_dir=str(tmp_path))


def test_resolve_checkpoint(tmp_path):
    assert resolve_checkpoint(args(tmp_path, None)) is None
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        resolve_checkpoint(args(tmp_path, "true"))
    for step in (2, 10):
        (tmp_path / f"checkpoint-{step}").mkdir()
    last = str(tmp_path / "checkpoint-10")
    assert resolve_checkpoint(args(tmp_path, None)) == last  # auto-resume, as the handbook
    assert resolve_checkpoint(args(tmp_path, "latest")) == last
    assert resolve_checkpoint(args(tmp_path, "false")) is None
    assert resolve_checkpoint(args(tmp_path, str(tmp_path / "checkpoint-2"))).endswith("-2")
    with pytest.raises(FileNotFoundError, match="not a folder"):
        resolve_checkpoint(args(tmp_path, str(tmp_path / "checkpoint-7")))


def test_recipe_arguments_validate():
    with pytest.raises(ValueError, match="chat_template_mode"):
        RecipeArguments(chat_template_mode="sometimes")
    with pytest.raises(ValueError, match="max_train_samples"):
        RecipeArguments(max_train_samples=0)
