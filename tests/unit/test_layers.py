"""The package's layers, as docs/architecture.md draws them: a module imports only from its own layer
or below, and no imports form a cycle. Read from the source with ast, so an import inside a function
or under TYPE_CHECKING counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import norn

ROOT = Path(norn.__file__).parent

# Lowest first. Shared modules are the ground floor; each folder is one layer.
LAYERS = [
    {"errors", "events", "names", "resources", "retry", "settings", "state", "__init__"},
    {"infraspec"},
    {"kube", "cloudflare"},
    {"store"},
    {"steps"},
    {"operations"},
    {"output"},
    {"cli", "serve", "__main__"},  # serve: norn serve's routes, beside the CLI's commands
]


def _layer(module: str) -> int:
    top = module.split(".")[1] if module.count(".") else "__init__"
    return next(i for i, names in enumerate(LAYERS) if top in names)


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("norn"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (ROOT.parent / candidate.replace(".", "/")).with_suffix(".py").exists() or (
                    ROOT.parent / candidate.replace(".", "/")).is_dir()
                found.add(candidate if is_module else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("norn"))
    return found


def _graph() -> dict[str, set[str]]:
    return {_module(p): _imports(p) - {_module(p)} for p in ROOT.rglob("*.py")}


def test_no_module_imports_from_a_layer_above_its_own():
    upward = [
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in targets
        if target != "norn" and _layer(target) > _layer(module)
    ]
    assert upward == []


def test_no_imports_form_a_cycle():
    graph = _graph()
    cycles, state = [], {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if target not in graph:
                continue
            if state.get(target) == "open":
                cycles.append(" -> ".join(trail[trail.index(target):] + [target]) if target in trail else target)
            elif target not in state:
                visit(target, trail + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []
