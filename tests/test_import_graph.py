"""The import graph of the project: no loop between files, no import from a lower floor to a
higher one (docs/architecture.md, « Les étages »).

Every Python module of the project's packages is read with ``ast``; each ``import`` and
``from … import`` counts, at module level or inside a function (a lazy import is still a
dependency). ``from package import name`` depends on ``package.name`` when that is a module, else
on ``package`` (its ``__init__.py``). Tests, benchmarks and scripts are left out: they may import
anything. Third-party imports are ignored.
"""
import ast
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Floors, bottom to top. A module imports its own floor or the floors below, never above; two apps
# of one floor may import each other, as long as no loop of files forms.
GROUND, CATALOGUE, ENGINE, PROTOCOLS, PORTAL, TOP = range(6)
FLOORS = {
    # ground: accounts, the territory, and the web plumbing every app shares (error answers in
    # each URL space's format, the input guard)
    "accounts": GROUND,
    "territory": GROUND,
    "platform_web": GROUND,
    # 1: the catalogue, the access policy and the feature source (layers/features/)
    "layers": CATALOGUE,
    # 2: the map engine (Mapnik rendering, styles, legends, remote sources, thumbnails, prints)
    "maps": ENGINE,
    # 3: protocols and domains
    "wms": PROTOCOLS,  # WMS, WFS, tiles, the print endpoint
    "ogcapi": PROTOCOLS,  # OGC API – Features
    "metadata": PROTOCOLS,  # ISO 19139 records, CSW
    "fieldsync": PROTOCOLS,  # SPANC field records and their synchronisation
    "signalements": PROTOCOLS,  # citizen reports, Open311
    # 4: the portal
    "webmap": PORTAL,
    "opendata": PORTAL,
    # top: the project's wiring (settings, URLs, WSGI, the demo loader)
    "capgeo": TOP,
}
FLOOR_NAMES = {GROUND: "ground", CATALOGUE: "1 (catalogue)", ENGINE: "2 (map engine)",
               PROTOCOLS: "3 (protocols and domains)", PORTAL: "4 (portal)", TOP: "top (project)"}

# Top-level folders that are not floors: they may import anything.
NOT_FLOORS = {"tests", "bench", "scripts", "docs", "fixtures", "var", "node_modules", ".venv",
              ".git"}

# Violations known when this test was written, each being removed by the work named beside it.
# An entry is an import (importer, imported) that this test ignores; the list must end empty.
# Never add to it: fix the import instead (move the code to the floor it belongs to, or make the
# lower floor call out through a registry or a signal, as wms/ogc_reports.py does).
KNOWN_VIOLATIONS = {}  # (importer, imported): why — empty: every rule holds


def project_packages():
    return sorted(path.name for path in ROOT.iterdir()
                  if path.is_dir() and (path / "__init__.py").exists()
                  and path.name not in NOT_FLOORS)


def project_modules():
    """{dotted module name: path} of every module of the project's packages, tests left out."""
    modules = {}
    for package in project_packages():
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            folders = relative.parts[:-1]
            if "tests" in folders or "__pycache__" in folders or path.name == "conftest.py":
                continue
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported_modules(name, path, known):
    """The project modules that module `name` imports, anywhere in its code."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            submodules = [f"{module}.{alias.name}" for alias in node.names]
            targets = [target for target in submodules if target in known]
            if len(targets) < len(submodules):
                targets.append(module)  # names defined in the module (or its __init__.py)
        else:
            continue
        for target in targets:
            while target and target not in known:  # a name inside a module: the module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph():
    known = project_modules()
    return {name: imported_modules(name, path, known) for name, path in known.items()}


def strongly_connected(graph):
    """Tarjan's algorithm, iterative: the groups of modules that import each other in a loop."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
    return groups


def without_known_violations(graph):
    return {name: {target for target in targets if (name, target) not in KNOWN_VIOLATIONS}
            for name, targets in graph.items()}


def floor_of(module):
    return FLOORS.get(module.split(".")[0])


def test_every_package_has_a_floor():
    missing = [package for package in project_packages() if package not in FLOORS]
    assert not missing, (
        f"Give these packages a floor in FLOORS (and in docs/architecture.md): {missing}")


def test_no_import_loop_between_files():
    graph = without_known_violations(import_graph())
    loops = strongly_connected(graph)
    described = []
    for group in loops:
        members = set(group)
        edges = [f"    {name} -> {target}" for name in group for target in sorted(graph[name])
                 if target in members]
        described.append(f"{len(group)} modules import each other:\n" + "\n".join(edges))
    assert not loops, "Import loops between files:\n" + "\n".join(described)


def test_no_import_from_a_lower_floor_to_a_higher_one():
    graph = without_known_violations(import_graph())
    upward = [
        f"{name} (floor {FLOOR_NAMES[floor_of(name)]}) imports {target} "
        f"(floor {FLOOR_NAMES[floor_of(target)]})"
        for name in sorted(graph) for target in sorted(graph[name])
        if floor_of(name) is not None and floor_of(target) is not None
        and floor_of(target) > floor_of(name)
    ]
    assert not upward, "Imports from a lower floor to a higher one:\n" + "\n".join(upward)


def test_known_violations_name_project_modules():
    """Each entry names two modules of floored packages (a typo would allow nothing and hide
    nothing). Entries whose import is gone are reported as a warning, so the list can shrink."""
    misnamed = [pair for pair in KNOWN_VIOLATIONS
                if any(floor_of(name) is None for name in pair)]
    assert not misnamed, f"KNOWN_VIOLATIONS entries outside the floors: {misnamed}"
    graph = import_graph()
    gone = [pair for pair in KNOWN_VIOLATIONS if pair[1] not in graph.get(pair[0], ())]
    if gone:
        warnings.warn(f"KNOWN_VIOLATIONS entries no longer needed, remove them: {gone}",
                      stacklevel=1)


def test_the_graph_sees_lazy_and_relative_imports():
    """The reader counts imports inside functions and relative ones (the kinds loops hide in)."""
    graph = import_graph()
    # layers/jobs.py imports the pipeline at module level, relatively.
    assert "layers.publishing.pipeline" in graph["layers.jobs"]
    # accounts/authentication.py: a module-level absolute import of the ground floor's errors.
    assert "platform_web.error_responses" in graph["accounts.authentication"]
    # wms/ogc_reports.py imports the registry inside its register() function.
    assert "platform_web.error_responses" in graph["wms.ogc_reports"]


def test_the_floors_are_described_in_the_architecture_document():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert "## Les étages" in text
    section = text.split("## Les étages", 1)[1].split("\n## ", 1)[0]
    missing = [package for package in FLOORS if f"{package}/" not in section]
    assert not missing, f"docs/architecture.md, « Les étages », does not place: {missing}"
