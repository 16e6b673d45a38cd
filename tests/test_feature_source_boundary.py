"""No module outside the feature source builds SQL on the layer tables.

Every read and write of a layer's features goes through ``layers.features`` (the FeatureSource
the access policy hands out), so that rows and columns are decided in one place. This test reads
every Python module of the project and fails when one outside the places below:
- names the layer tables' schema (``layers_data`` in a string, ``DATA_SCHEMA``, a layer's
  ``qualified_table``);
- uses a grant's or a source's row filter as SQL (``.where("t")``, ``.row_filter.sql``,
  ``.rows.sql``);
- selects whole rows (``to_jsonb(t)``): the columns a user may read are the source's.
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Where SQL on the layer tables belongs, and why.
ALLOWED = {
    "layers/features/": "the feature source itself",
    "layers/tables.py": "DDL: creates, describes, swaps and drops the layer tables",
    "layers/publishing/": "loading: imports files into staging tables and publishes them",
    "layers/models.py": "defines DATA_SCHEMA and Layer.qualified_table",
    "layers/migrations/": "schema migrations",
    "layers/testing.py": "test builders: create and fill test layers",
    "layers/demo.py": "demo loader: creates and fills the demo layers",
    "fieldsync/publication.py": "publisher: creates and fills the layers it derives from sync "
                                "records (as layers/publishing does for files)",
    "signalements/publication.py": "publisher: creates and fills the layers it derives from "
                                   "citizen reports",
    "bench/": "benchmarks: set up layers and time the bare SQL floor",
    "tests/": "tests check the tables themselves",
}

# Modules not converted yet: each still reads rows with the policy's row filter as SQL. They
# move to the FeatureSource (whose source.query / source.features / source.rows... cover them)
# and leave this list, which must end empty.
NOT_YET_CONVERTED = set()

SKIPPED_PARTS = {".venv", "node_modules", "var", ".git", "__pycache__"}


def allowed(relative):
    if "/tests/" in f"/{relative}" or relative in NOT_YET_CONVERTED:
        return True
    return any(relative == place or (place.endswith("/") and relative.startswith(place))
               for place in ALLOWED)


def docstrings(tree):
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def offences(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = docstrings(tree)
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            text = node.value.lower()
            if "layers_data" in text:
                found.append((line, "names the layers_data schema"))
            if "to_jsonb(t" in text.replace(" ", ""):
                found.append((line, "selects whole rows with to_jsonb(t)"))
        elif isinstance(node, ast.Name) and node.id == "DATA_SCHEMA":
            found.append((line, "uses DATA_SCHEMA"))
        elif isinstance(node, ast.Attribute):
            if node.attr == "qualified_table":
                found.append((line, "uses Layer.qualified_table"))
            elif node.attr == "sql" and isinstance(node.value, ast.Attribute) \
                    and node.value.attr in ("row_filter", "rows", "write_rows"):
                found.append((line, f"uses .{node.value.attr}.sql as SQL"))
        elif isinstance(node, ast.ImportFrom) and node.module \
                and node.module.endswith("models") and any(a.name == "DATA_SCHEMA"
                                                          for a in node.names):
            found.append((line, "imports DATA_SCHEMA"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "where":
            receiver = node.func.value
            name = receiver.attr if isinstance(receiver, ast.Attribute) else \
                getattr(receiver, "id", "")
            if "grant" in name or "source" in name or any(
                    isinstance(a, ast.Constant) and a.value == "t" for a in node.args):
                found.append((line, "uses a row filter as SQL (.where)"))
    return sorted(set(found))


def modules():
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if SKIPPED_PARTS & set(relative.parts):
            continue
        yield path, relative.as_posix()


def test_no_sql_on_layer_tables_outside_the_feature_source():
    found = []
    for path, relative in modules():
        if allowed(relative):
            continue
        found += [f"{relative}:{line}: {what}" for line, what in offences(path)]
    assert not found, "SQL on layer tables outside layers/features:\n" + "\n".join(found)


def test_the_checks_find_what_they_look_for(tmp_path):
    """The reader catches each kind of offence (and is not fooled by a docstring)."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""Mentions layers_data in a docstring only."""\n'
        "from layers.models import DATA_SCHEMA\n"
        "def read(grant, layer, source):\n"
        '    sql, params = grant.where("t")\n'
        "    source.rows.sql\n"
        "    table = layer.qualified_table\n"
        "    return f\"SELECT to_jsonb(t) FROM layers_data.x t WHERE {sql}\", DATA_SCHEMA\n",
        encoding="utf-8")
    kinds = {what for _line, what in offences(sample)}
    assert kinds == {"imports DATA_SCHEMA", "uses DATA_SCHEMA", "uses a row filter as SQL (.where)",
                     "uses .rows.sql as SQL", "uses Layer.qualified_table",
                     "names the layers_data schema", "selects whole rows with to_jsonb(t)"}


def test_the_allow_list_lists_only_modules_that_still_need_it():
    """A converted module leaves NOT_YET_CONVERTED (so the list ends empty)."""
    stale = [relative for relative in NOT_YET_CONVERTED
             if not (ROOT / relative).exists() or not offences(ROOT / relative)]
    assert not stale, f"converted or gone, remove from NOT_YET_CONVERTED: {stale}"
