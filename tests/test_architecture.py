"""The package's import structure, read from the source with ``ast`` (nothing is imported).

Every module sits on one floor (:data:`LAYERS`, see :mod:`weightspace.registry`, "Layers"); it imports only from
its own floor or below, the imports form no circle, and an import of a project module inside a function is
deliberate: it carries a comment saying why (on its line, or on the line above it or above the block of imports
it opens).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "weightspace"

#: the floors, lowest first; a module not named here is core, a module under weightspace.families is on the
#: families floor
GROUND = {"weightspace", "weightspace.registry", "weightspace.errors", "weightspace.io", "weightspace.sizes",
          "weightspace.seeding", "weightspace.headlines", "weightspace.gpus", "weightspace.workflow_lock",
          "weightspace.train.config"}
ENTRY_POINTS = {"weightspace.cli", "weightspace.__main__", "weightspace.resultsdoc"}
LAYERS = ("ground floor", "core", "families", "entry points")


def layer(module: str) -> int:
    """The floor of a module: 0 ground, 1 core, 2 families, 3 entry points."""
    if module in GROUND:
        return 0
    if module in ENTRY_POINTS:
        return 3
    if module == "weightspace.families" or module.startswith("weightspace.families."):
        return 2
    return 1


def modules(src: Path = SRC) -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    out = {}
    for p in (src / PACKAGE).rglob("*.py"):
        parts = list(p.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def imports(src: Path = SRC) -> list[tuple[str, str, int, bool, bool]]:
    """Every import of a project module: (importer, imported module, line, inside a function, commented).

    ``from a.b import c`` imports ``a.b.c`` when that is a module, else ``a.b``. Imports under ``if TYPE_CHECKING``
    count: a type checker follows them.
    """
    mods = modules(src)

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    out = []
    for m, p in mods.items():
        text = p.read_text()
        lines = text.splitlines()
        tree = ast.parse(text, str(p))
        in_func = {}
        for f in ast.walk(tree):
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for x in ast.walk(f):
                    if isinstance(x, (ast.Import, ast.ImportFrom)):
                        in_func[id(x)] = x

        def commented(node) -> bool:
            """A comment on the import's lines, or above it (directly, or above the block of imports it is in)."""
            if any("#" in lines[i - 1] for i in range(node.lineno, node.end_lineno + 1)):
                return True
            i = node.lineno - 1  # the line above, 1-based
            while i >= 1:
                above = lines[i - 1].strip()
                if above.startswith("#"):
                    return True
                if not (above.startswith(("from ", "import ")) or above == ""):
                    return False
                if above.startswith(("from ", "import ")) and "#" in above:
                    return True
                i -= 1
            return False

        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = m.split(".") if p.name == "__init__.py" else m.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                targets = [f"{mod}.{a.name}" for a in node.names]
            else:
                continue
            for t in sorted({resolve(t) for t in targets} - {None, m}):
                inside = id(node) in in_func
                out.append((m, t, node.lineno, inside, inside and commented(node)))
    return out


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def problems(src: Path = SRC) -> dict[str, list[str]]:
    """What breaks the structure: import circles, upward imports, uncommented imports inside functions."""
    found = imports(src)
    edges: dict[str, set[str]] = {m: set() for m in modules(src)}
    for a, b, *_ in found:
        edges[a].add(b)
    return {
        "circles": [" -> ".join(c) for c in circles(edges)],
        "upward": sorted({f"{a}:{line} ({LAYERS[layer(a)]}) imports {b} ({LAYERS[layer(b)]})"
                          for a, b, line, _, _ in found if layer(b) > layer(a)}),
        "uncommented": sorted(f"{a}:{line} imports {b} inside a function without a comment saying why"
                              for a, b, line, inside, commented in found if inside and not commented),
    }


@pytest.fixture(scope="module")
def found() -> dict[str, list[str]]:
    return problems()


def test_no_import_circle(found):
    assert not found["circles"], "import circles:\n" + "\n".join(found["circles"])


def test_no_upward_import(found):
    assert not found["upward"], "imports running upwards:\n" + "\n".join(found["upward"])


def test_function_level_imports_of_the_package_are_commented(found):
    assert not found["uncommented"], "\n".join(found["uncommented"])


def test_a_family_imports_no_other_family():
    """A family's folder is its own: it imports the core and ``families.base``, never another family's modules."""
    def family(module: str) -> str | None:
        parts = module.split(".")
        return parts[2] if len(parts) > 2 and parts[1] == "families" and parts[2] != "base" else None

    crossing = sorted({f"{a}:{line} imports {b}" for a, b, line, *_ in imports()
                       if family(a) and family(b) and family(a) != family(b)})
    assert not crossing, "\n".join(crossing)


def test_the_checks_see_what_they_look_for(tmp_path):
    """A package with a circle, an upward import and an uncommented import inside a function is refused."""
    pkg = tmp_path / PACKAGE
    (pkg / "families").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "errors.py").write_text("import weightspace.config\n")  # ground -> core: upwards
    (pkg / "config.py").write_text("def f():\n    from weightspace import data\n")  # no comment
    (pkg / "data.py").write_text("import weightspace.config\n")  # a circle: config -> data -> config
    (pkg / "nets.py").write_text("import weightspace.families\n")  # core -> families: upwards
    (pkg / "families" / "__init__.py").write_text(  # a commented block of imports inside a function: deliberate
        "def f():\n    # deferred: torch\n    from weightspace import errors\n    from weightspace import config\n")
    found = problems(tmp_path)
    assert found["circles"] == ["weightspace.config -> weightspace.data"]
    assert found["upward"] == ["weightspace.errors:1 (ground floor) imports weightspace.config (core)",
                               "weightspace.nets:1 (core) imports weightspace.families (families)"]
    assert found["uncommented"] == [
        "weightspace.config:2 imports weightspace.data inside a function without a comment saying why"]


def test_the_registry_is_on_the_ground_floor():
    """The core looks names up in the registry, which imports nothing else of the package."""
    assert layer("weightspace.registry") == 0 and "weightspace.registry" in modules()
    assert {b for a, b, *_ in imports() if a == "weightspace.registry"} == set()
