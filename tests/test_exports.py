"""The package's exports: every name resolves, static tools see them all, and `import deita_hf`
stays light (the names load on first use)."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import deita_hf

INIT = Path(deita_hf.__file__)


def _type_checking_imports() -> dict[str, str]:
    """name -> module of every `from MODULE import NAME` in `if TYPE_CHECKING:` of __init__.py."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    found.update({alias.asname or alias.name: stmt.module for alias in stmt.names})
    return found


def _literal_all() -> list[str]:
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("__init__.py has no `__all__ = [...]`")


def test_every_name_in_all_resolves():
    for name in deita_hf.__all__:
        assert getattr(deita_hf, name) is not None, name
    assert set(dir(deita_hf)) >= set(deita_hf.__all__)


def test_all_is_a_literal_list_of_the_exports():
    assert _literal_all() == deita_hf.__all__
    assert deita_hf.__all__ == ["__version__", *deita_hf._EXPORTS]


def test_type_checking_block_imports_every_export_from_its_module():
    seen = _type_checking_imports()
    for name, module in deita_hf._EXPORTS.items():
        assert seen.get(name) == module, f"{name}: `from {module} import {name}` is missing"


def test_import_is_lazy():
    # measured before the TYPE_CHECKING block was added: `import deita_hf` loads datasets (to
    # add Dataset.select_deita) but no model library and no deita_hf submodule
    code = ("import json, sys; import deita_hf; "
            "print(json.dumps(sorted(m for m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, HF_HUB_OFFLINE="1"))
    modules = set(json.loads(out.stdout))
    heavy = {"torch", "transformers", "trl", "accelerate", "sentence_transformers", "matplotlib"}
    assert not heavy & {m.split(".")[0] for m in modules}
    assert {m for m in modules if m.startswith("deita_hf")} == {"deita_hf"}
