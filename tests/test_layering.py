"""The package's imports go one way (README, "Development"): no cycles between modules at import
time, and no lower layer importing a higher one anywhere (function-level imports included)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "deita_hf"

#: module (prefix) -> prefixes it must never import, at any level
FORBIDDEN = {
    "deita_hf.errors": ["deita_hf."],
    "deita_hf.runtime": ["deita_hf.data", "deita_hf.scoring", "deita_hf.embedding",
                         "deita_hf.selection", "deita_hf.hub", "deita_hf.folder",
                         "deita_hf.pipeline", "deita_hf.components", "deita_hf.training",
                         "deita_hf.cli"],
    "deita_hf.runtime.devices": ["deita_hf.runtime.models"],
    # the folder format: its layout (the one reader) sits below data.load_pool; the writer,
    # guard and statistics never import publishing (deita_hf.hub)
    "deita_hf.folder.layout": ["deita_hf.hub", "deita_hf.folder.selection",
                               "deita_hf.folder.writer", "deita_hf.pipeline", "deita_hf.cli",
                               "deita_hf.components", "deita_hf.scoring"],
    "deita_hf.folder.guard": ["deita_hf.hub", "deita_hf.folder.selection", "deita_hf.pipeline",
                              "deita_hf.cli"],
    "deita_hf.folder.writer": ["deita_hf.hub", "deita_hf.folder.selection", "deita_hf.pipeline",
                               "deita_hf.cli"],
    "deita_hf.folder.stats": ["deita_hf.hub", "deita_hf.folder.selection", "deita_hf.pipeline",
                              "deita_hf.cli"],
    "deita_hf.folder": ["deita_hf.pipeline", "deita_hf.cli", "deita_hf.training",
                        "deita_hf.hub.push", "deita_hf.hub.report"],
    "deita_hf.data": ["deita_hf.scoring", "deita_hf.embedding", "deita_hf.selection",
                      "deita_hf.pipeline", "deita_hf.components", "deita_hf.training",
                      "deita_hf.cli", "deita_hf.hub", "deita_hf.folder.writer",
                      "deita_hf.folder.selection"],
    "deita_hf.selection": ["deita_hf.scoring", "deita_hf.embedding", "deita_hf.hub",
                           "deita_hf.folder", "deita_hf.pipeline", "deita_hf.components",
                           "deita_hf.training", "deita_hf.cli"],
    "deita_hf.scoring": ["deita_hf.pipeline", "deita_hf.hub", "deita_hf.folder", "deita_hf.cli",
                         "deita_hf.training", "deita_hf.components"],
    "deita_hf.embedding": ["deita_hf.pipeline", "deita_hf.hub", "deita_hf.folder",
                           "deita_hf.cli", "deita_hf.training", "deita_hf.components",
                           "deita_hf.scoring"],
    "deita_hf.generation": ["deita_hf.pipeline", "deita_hf.hub", "deita_hf.folder",
                            "deita_hf.cli", "deita_hf.scoring", "deita_hf.components"],
    "deita_hf.components": ["deita_hf.pipeline", "deita_hf.hub", "deita_hf.folder",
                            "deita_hf.cli"],
    "deita_hf.hub": ["deita_hf.pipeline", "deita_hf.cli", "deita_hf.training"],
    "deita_hf.pipeline": ["deita_hf.cli", "deita_hf.training"],
    "deita_hf.training": ["deita_hf.cli"],
    "deita_hf.evaluation": ["deita_hf.cli"],
}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, ast.parse(path.read_text(encoding="utf-8"))


def _imports(tree: ast.AST, *, module_scope_only: bool) -> set[str]:
    found = set()

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # type-checking imports never run
            if isinstance(child, ast.ImportFrom) and child.module and \
                    child.module.startswith("deita_hf") and (top or not module_scope_only):
                found.add(child.module)
            if isinstance(child, ast.Import) and (top or not module_scope_only):
                found.update(a.name for a in child.names if a.name.startswith("deita_hf"))
            inner = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            visit(child, top and not inner)

    visit(tree, True)
    return found


MODULES = dict(_modules())


@pytest.mark.parametrize("low", sorted(FORBIDDEN))
def test_no_lower_layer_imports_a_higher_one(low):
    bad = []
    for name, tree in MODULES.items():
        if name != low and not name.startswith(low + "."):
            continue
        for imported in _imports(tree, module_scope_only=False):
            if any(imported == f or imported.startswith(f if f.endswith(".") else f + ".")
                   or imported == f.rstrip(".") for f in FORBIDDEN[low]):
                bad.append(f"{name} imports {imported}")
    assert bad == []


def test_no_import_cycles_at_import_time():
    graph = {name: {m for m in _imports(tree, module_scope_only=True) if m in MODULES}
             for name, tree in MODULES.items()}
    # a package's __init__ importing its own submodules is not a cycle with them
    state: dict[str, int] = {}
    cycles = []

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1 and not node.startswith(nxt + "."):
                cycles.append(stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt])
            elif nxt not in state:
                walk(nxt, [*stack, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert cycles == []
