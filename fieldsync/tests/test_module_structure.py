"""The shape of fieldsync, read from its source: no import loop between its modules (imports
inside functions included), and no branch on a record type outside the record modules
(fieldsync/records/: the push, the pull, the conflicts and the manager's actions loop over the
registry)."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent
ROOT = PACKAGE.parent
RECORD_TYPES = {"installation", "control", "signalement"}


def modules():
    return sorted(path for path in PACKAGE.rglob("*.py")
                  if "tests" not in path.relative_to(PACKAGE).parts
                  and "migrations" not in path.relative_to(PACKAGE).parts)


def dotted(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path):
    """The fieldsync modules this file imports, anywhere in it."""
    names = {dotted(p): p for p in modules()}
    here = dotted(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in names else base
                       for alias in node.names]
        for target in targets:
            while target and target not in names:
                target = target.rpartition(".")[0]
            # A module of a package imports its package first by nature: not an edge.
            if target and target != here and not here.startswith(target + "."):
                found.add(target)
    return found


def test_no_import_loop_between_fieldsync_modules():
    graph = {dotted(path): imports(path) for path in modules()}
    state, loops = {}, []

    def visit(node, trail):
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                loops.append(trail[trail.index(target):] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert loops == [], "\n".join(" → ".join(loop) for loop in loops)


@pytest.mark.parametrize("path", [p for p in modules() if "records" not in p.parts],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_branch_on_a_record_type_outside_the_record_modules(path):
    offences = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                if isinstance(operand, ast.Constant) and operand.value in RECORD_TYPES:
                    offences.append(node.lineno)
    assert offences == [], f"{path.name}: compares with a record type at lines {offences}"


def test_every_record_module_is_registered_in_order_with_its_form():
    """A record type is its module in fieldsync/records/ (found by the registry) and its form in
    terrain/forms/ (loaded by the field app in the registry's order): nothing else to list."""
    from fieldsync import records
    from fieldsync.terrain.views import SCRIPTS

    modules = sorted(p.stem for p in (PACKAGE / "records").glob("*.py")
                     if p.stem not in ("__init__", "base"))
    assert sorted(records.REGISTRY) == modules
    # A control refers to an installation; a report to nothing of the others.
    assert list(records.REGISTRY) == ["installation", "control", "signalement"]
    forms = [s for s in SCRIPTS if s.startswith("terrain/forms/")]
    assert forms == [f"terrain/forms/{entity}.js" for entity in records.REGISTRY]
    for form in forms:
        source = (PACKAGE / "static" / form).read_text()
        entity = form.rpartition("/")[2].removesuffix(".js")
        assert f'entity: "{entity}"' in source and "Terrain.records.register(" in source
    assert SCRIPTS.index(forms[-1]) < SCRIPTS.index("terrain/store.js")
