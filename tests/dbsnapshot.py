"""An exact, fast restore of the test database after the tests that commit.

At the start of the session, once migrated and loaded with the demo, the test database is
photographed (``Snapshot.take``): every table of every application schema (``public``,
``layers_data``, ``layers_history``, ``layers_staging``… — not the PostGIS extension's own) is
copied into the ``test_snapshot`` schema, with its structure (columns, defaults, constraints,
indexes, triggers, owned sequences) described from the catalogue, the views' definitions and the
sequences' values.

Each snapshot table gets a statement-level trigger that records its oid in
``test_snapshot.dirty`` on any INSERT, UPDATE, DELETE or TRUNCATE. A test run in a rolled-back
transaction rolls its marks back with it; a test that commits (transactional tests, live server,
other connections) leaves them. ``Snapshot.restore`` then puts back, in one transaction:

- the rows of the marked tables: emptied (TRUNCATE, with the tables referencing them by a foreign
  key; or DELETE, when only Django's deferred keys from tables left alone reference them), then
  filled again (INSERT … SELECT from the copy, parents first);
- the tables a test dropped, replaced or altered (re-created from the description, then filled);
- the views that changed; and drops the tables, views and sequences that the snapshot lacks.

Two things are deliberately not put back to their old values, because caches in the test process
key on them and must never see an old key again with new contents: sequences only move forward
(restored rows keep their own keys; new rows get keys never used before), and the counters in
``MONOTONIC`` (the catalogue version read by the WMS decision cache and the tile configuration) are
raised past every value they have had.
"""
import dataclasses
import time

from django.db import transaction

SCHEMA = "test_snapshot"
DIRTY_TRIGGER = "zz_test_snapshot_dirty"
# Counters that caches key on: (schema, table) -> columns raised after a restore, never lowered.
MONOTONIC = {("public", "wms_catalogue_version"): ("version", "data_version")}
LOCK_TIMEOUT = "60s"

SCOPE = f"""
    n.nspname NOT IN ('pg_catalog', 'information_schema', '{SCHEMA}')
    AND n.nspname NOT LIKE 'pg\\_%%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                    AND e.objid = c.oid AND e.deptype = 'e')
"""


def qname(schema, name):
    return '"' + schema.replace('"', '""') + '"."' + name.replace('"', '""') + '"'


def ident(name):
    return '"' + name.replace('"', '""') + '"'


@dataclasses.dataclass
class Constraint:
    name: str
    definition: str
    kind: str                   # pg_constraint.contype: p, u, c, x, f…
    references: tuple = None    # a foreign key's table (schema, name)
    soft: bool = False          # a deferrable foreign key without action on delete


@dataclasses.dataclass
class Table:
    schema: str
    name: str
    oid: int
    create: str                 # CREATE TABLE with columns, defaults, identity, generated
    sequences: list             # [(qualified name, CREATE SEQUENCE …, column)] owned by a column
    constraints: list           # [Constraint]
    indexes: list               # CREATE INDEX … (not backing a constraint)
    triggers: list              # CREATE TRIGGER … (user triggers, not ours)
    insert_columns: list        # columns an INSERT may write (not generated ones)
    has_identity: bool
    copy: str = ""              # the snapshot copy of its rows

    @property
    def qualified(self):
        return qname(self.schema, self.name)

    def structure(self):
        """Everything that defines the table, as comparable text."""
        return "\n".join([self.create, *(f"{s[1]} OWNED BY {s[2]}" for s in self.sequences),
                          *(f"{c.name} {c.definition}" for c in self.constraints),
                          *self.indexes,
                          *self.triggers])


@dataclasses.dataclass
class State:
    """What the database holds now: tables (with structure), views, sequences, dirty marks."""
    tables: dict                # (schema, name) -> Table
    views: dict                 # (schema, name) -> (kind, definition)
    sequences: dict             # (schema, name) -> last value (None: never used)
    others: dict                # (schema, name) -> relkind: anything else (foreign tables…)
    dirty: set                  # oids of tables written since the last restore
    missing_triggers: set       # oids of tables without the dirty trigger (or with it disabled)


def read_state(cursor):
    cursor.execute(f"""
        SELECT c.oid, n.nspname, c.relname, c.relkind, c.relpersistence, c.reloptions
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {SCOPE}
    """)
    relations = cursor.fetchall()
    table_rows = [r for r in relations if r[3] in ("r", "p")]
    oids = [r[0] for r in table_rows]

    columns = {}
    cursor.execute("""
        SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid),
               CASE WHEN a.attcollation <> t.typcollation THEN co.collname END
        FROM pg_attribute a
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        LEFT JOIN pg_collation co ON co.oid = a.attcollation
        WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attrelid, a.attnum
    """, [oids])
    for row in cursor.fetchall():
        columns.setdefault(row[0], []).append(row[1:])

    keys = {r[0]: (r[1], r[2]) for r in relations}
    constraints = {}
    cursor.execute("""
        SELECT conrelid, conname, pg_get_constraintdef(oid), contype, confrelid,
               condeferrable AND confdeltype = 'a'
        FROM pg_constraint WHERE conrelid = ANY(%s) ORDER BY conrelid, conname
    """, [oids])
    for relid, name, definition, kind, referenced, soft in cursor.fetchall():
        # A foreign key names the table it references (schema, name): oids change on re-creation.
        # soft: checked at commit, no action on delete (Django's): the referenced rows may be
        # deleted and put back within the transaction.
        constraints.setdefault(relid, []).append(Constraint(
            name, definition, kind, keys.get(referenced, referenced) if kind == "f" else None,
            bool(soft)))

    indexes = {}
    cursor.execute("""
        SELECT i.indrelid, pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE i.indrelid = ANY(%s) AND NOT EXISTS (
            SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
            AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))
        ORDER BY i.indrelid, ic.relname
    """, [oids])
    for relid, definition in cursor.fetchall():
        indexes.setdefault(relid, []).append(definition)

    triggers, has_dirty_trigger = {}, set()
    cursor.execute("""
        SELECT tgrelid, tgname, pg_get_triggerdef(oid), tgenabled
        FROM pg_trigger WHERE tgrelid = ANY(%s) AND NOT tgisinternal ORDER BY tgrelid, tgname
    """, [oids])
    for relid, name, definition, enabled in cursor.fetchall():
        if name == DIRTY_TRIGGER:
            if enabled != "D":
                has_dirty_trigger.add(relid)
        else:
            triggers.setdefault(relid, []).append(f"{definition} [{enabled}]")

    # Sequences: values, and which column owns them (serial: 'a'; identity: 'i').
    cursor.execute(f"""
        SELECT n.nspname, c.relname, s.last_value, o.refobjid, a.attname, o.deptype,
               format_type(q.seqtypid, NULL), q.seqstart, q.seqincrement, q.seqmin, q.seqmax,
               q.seqcache, q.seqcycle
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_sequence q ON q.seqrelid = c.oid
        JOIN pg_sequences s ON s.schemaname = n.nspname AND s.sequencename = c.relname
        LEFT JOIN pg_depend o ON o.classid = 'pg_class'::regclass AND o.objid = c.oid
             AND o.refclassid = 'pg_class'::regclass AND o.deptype IN ('a', 'i')
        LEFT JOIN pg_attribute a ON a.attrelid = o.refobjid AND a.attnum = o.refobjsubid
        WHERE c.relkind = 'S' AND {SCOPE}
    """)
    sequences, owned = {}, {}
    for (schema, name, value, owner, column, deptype, seqtype, start, increment, minimum,
         maximum, cache, cycle) in cursor.fetchall():
        sequences[(schema, name)] = value
        if deptype == "a":  # serial: re-created with its table
            owned.setdefault(owner, []).append((
                qname(schema, name),
                f"CREATE SEQUENCE {qname(schema, name)} AS {seqtype} INCREMENT {increment} "
                f"MINVALUE {minimum} MAXVALUE {maximum} START {start} CACHE {cache}"
                f"{' CYCLE' if cycle else ''}",
                column))

    tables, views, others = {}, {}, {}
    for oid, schema, name, kind, persistence, options in relations:
        if kind in ("r", "p"):
            definitions, insert_columns, identity = [], [], False
            for (column, pgtype, not_null, attidentity, generated, default,
                 collation) in columns.get(oid, []):
                text = f"{ident(column)} {pgtype}"
                if collation:
                    text += f" COLLATE {ident(collation)}"
                if generated:
                    text += f" GENERATED ALWAYS AS ({default}) STORED"
                elif default is not None:
                    text += f" DEFAULT {default}"
                if attidentity:
                    identity = True
                    text += (" GENERATED ALWAYS AS IDENTITY" if attidentity == "a"
                             else " GENERATED BY DEFAULT AS IDENTITY")
                if not_null:
                    text += " NOT NULL"
                definitions.append(text)
                if not generated:
                    insert_columns.append(column)
            create = (f"CREATE {'UNLOGGED ' if persistence == 'u' else ''}TABLE "
                      f"{qname(schema, name)} ({', '.join(definitions)})")
            if kind == "p":
                create += " [partitioned]"  # not re-creatable: reported as a difference
            if options:
                create += f" WITH ({', '.join(options)})"
            owned_sequences = [(q, c, f"{qname(schema, name)}.{ident(col)}")
                               for q, c, col in owned.get(oid, [])]
            tables[(schema, name)] = Table(
                schema, name, oid, create, owned_sequences, constraints.get(oid, []),
                indexes.get(oid, []), triggers.get(oid, []), insert_columns, identity)
        elif kind in ("v", "m"):
            views[(schema, name)] = (kind, oid)
        elif kind != "S":
            others[(schema, name)] = kind
    if views:
        cursor.execute("SELECT c.oid, pg_get_viewdef(c.oid) FROM pg_class c WHERE c.oid = ANY(%s)",
                       [[oid for _kind, oid in views.values()]])
        definitions = dict(cursor.fetchall())
        views = {key: (kind, definitions[oid]) for key, (kind, oid) in views.items()}

    cursor.execute(f"SELECT DISTINCT relid FROM {SCHEMA}.dirty")
    dirty = {row[0] for row in cursor.fetchall()}
    missing = {t.oid for t in tables.values() if t.oid not in has_dirty_trigger}
    return State(tables, views, sequences, others, dirty, missing)


def relations_signature(cursor):
    """Which tables and views exist (their number and oids): a relation added, dropped or
    replaced changes it."""
    cursor.execute(f"""
        SELECT count(*), coalesce(sum(c.oid::int8), 0) FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {SCOPE}
    """)
    return cursor.fetchone()


class Snapshot:
    def __init__(self, state, database):
        self.database = database  # the test database's name: never touch another one
        self.state = state
        self.tables = state.tables
        self.high_water = dict(state.sequences)
        self.restores = []  # (seconds, summary) of each restore, for the session's report

    # --- taking ----------------------------------------------------------------------------
    @classmethod
    def take(cls, connection):
        """Photograph the database as it is now (committed data only)."""
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            cursor.execute(f"CREATE SCHEMA {SCHEMA}")
            cursor.execute(f"CREATE UNLOGGED TABLE {SCHEMA}.dirty (relid oid NOT NULL)")
            cursor.execute(f"""
                CREATE FUNCTION {SCHEMA}.mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NOT EXISTS (SELECT 1 FROM {SCHEMA}.dirty WHERE relid = TG_RELID) THEN
                        INSERT INTO {SCHEMA}.dirty VALUES (TG_RELID);
                    END IF;
                    RETURN NULL;
                END $$""")
            state = read_state(cursor)
            for number, table in enumerate(sorted(state.tables.values(),
                                                  key=lambda t: (t.schema, t.name))):
                if table.create.endswith("[partitioned]"):
                    raise NotImplementedError(f"partitioned table {table.qualified}")
                table.copy = f"{SCHEMA}.t{number}"
                cursor.execute(f"CREATE UNLOGGED TABLE {table.copy} AS TABLE {table.qualified}")
                cls._add_dirty_trigger(cursor, table)
            cursor.execute("SELECT current_database()")
            snapshot = cls(state, cursor.fetchone()[0])
            snapshot.order = snapshot._parents_first(state.tables.values())
            snapshot.signature = relations_signature(cursor)
        return snapshot

    @staticmethod
    def _add_dirty_trigger(cursor, table):
        cursor.execute(f"CREATE TRIGGER {DIRTY_TRIGGER} AFTER INSERT OR UPDATE OR DELETE OR "
                       f"TRUNCATE ON {table.qualified} FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION {SCHEMA}.mark_dirty()")

    def _parents_first(self, tables):
        """Tables sorted so that a referenced table comes before those referencing it."""
        by_key = {(t.schema, t.name): t for t in tables}
        ordered, seen = [], set()

        def visit(table, path):
            key = (table.schema, table.name)
            if key in seen or key in path:
                return
            path.add(key)
            for constraint in table.constraints:
                if constraint.references in by_key and constraint.references != key:
                    visit(by_key[constraint.references], path)
            seen.add(key)
            ordered.append(key)

        for table in sorted(tables, key=lambda t: (t.schema, t.name)):
            visit(table, set())
        return ordered

    # --- comparing -------------------------------------------------------------------------
    def _check_database(self, cursor):
        cursor.execute("SELECT current_database()")
        name = cursor.fetchone()[0]
        if name != self.database:
            raise RuntimeError(f"connected to {name}, not to the test database {self.database}")

    def is_dirty(self, cursor):
        """The cheap check, after a test that ran in a rolled-back transaction: anything
        committed meanwhile (by another connection) left a mark or a new relation."""
        self._check_database(cursor)
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {SCHEMA}.dirty)")
        if cursor.fetchone()[0]:
            return True
        return relations_signature(cursor) != self.signature

    def differences(self, cursor, state=None):
        """What differs from the snapshot, as sentences (empty when identical): relations,
        structures and rows of every table (the monotonic counters apart)."""
        state = state or read_state(cursor)
        found = []
        for key in sorted(set(state.tables) | set(self.tables)):
            name = qname(*key)
            if key not in state.tables:
                found.append(f"table {name} missing")
            elif key not in self.tables:
                found.append(f"table {name} not in the snapshot")
            elif state.tables[key].structure() != self.tables[key].structure():
                found.append(f"table {name}: structure differs")
            else:
                table = self.tables[key]
                columns = [c for c in table.insert_columns
                           if c not in MONOTONIC.get(key, ())]
                listed = ", ".join(ident(c) for c in columns)
                cursor.execute(
                    f"SELECT (SELECT count(*) FROM (SELECT {listed} FROM {name} EXCEPT ALL "
                    f"SELECT {listed} FROM {table.copy}) a), "
                    f"(SELECT count(*) FROM (SELECT {listed} FROM {table.copy} EXCEPT ALL "
                    f"SELECT {listed} FROM {name}) b)")
                extra, lost = cursor.fetchone()
                if extra or lost:
                    found.append(f"table {name}: {extra} rows not in the snapshot, "
                                 f"{lost} rows of the snapshot missing")
        for key in sorted(set(state.views) | set(self.state.views)):
            if state.views.get(key) != self.state.views.get(key):
                found.append(f"view {qname(*key)} differs")
        for key in sorted(set(state.sequences) | set(self.state.sequences)):
            if key not in state.sequences or key not in self.state.sequences:
                found.append(f"sequence {qname(*key)} added or missing")
            elif (state.sequences[key] or 0) < (self.state.sequences[key] or 0):
                found.append(f"sequence {qname(*key)} went back")
        for key in sorted(set(state.others) ^ set(self.state.others)):
            found.append(f"relation {qname(*key)} added or missing")
        return found

    # --- restoring -------------------------------------------------------------------------
    def restore(self, connection):
        """Put the database back to the snapshot; returns a summary (empty if nothing to do)."""
        started = time.perf_counter()
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            self._check_database(cursor)
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            state = read_state(cursor)
            for key, value in state.sequences.items():
                if value is not None and (self.high_water.get(key) or 0) < value:
                    self.high_water[key] = value
            summary = self._restore(cursor, state)
            self.signature = relations_signature(cursor)
        if summary:
            self.restores.append((time.perf_counter() - started, summary))
        return summary

    def _restore(self, cursor, state):
        snap = self.tables
        summary = []
        # Relations the snapshot lacks: views first (they depend on tables), then tables, then
        # standalone sequences (those owned by a dropped table went with it).
        for key, (kind, _definition) in state.views.items():
            if key not in self.state.views or self.state.views[key] != state.views[key]:
                cursor.execute(f"DROP {'MATERIALIZED VIEW' if kind == 'm' else 'VIEW'} "
                               f"IF EXISTS {qname(*key)} CASCADE")
                summary.append(f"dropped view {qname(*key)}")
        for key in state.others:
            if key not in self.state.others:
                cursor.execute(f"DROP FOREIGN TABLE IF EXISTS {qname(*key)} CASCADE")
        extra = [key for key in state.tables if key not in snap]
        if extra:
            cursor.execute("DROP TABLE IF EXISTS " + ", ".join(qname(*k) for k in extra)
                           + " CASCADE")
            summary.append(f"dropped {len(extra)} tables")
        # Tables to re-create: missing, replaced (another oid) or with another structure.
        rebuild = {key for key, table in snap.items()
                   if key not in state.tables or state.tables[key].oid != table.oid
                   or state.tables[key].structure() != table.structure()}
        # Tables whose rows to put back: those written, and those re-created.
        by_oid = {t.oid: key for key, t in state.tables.items()}
        refill = {by_oid[oid] for oid in state.dirty if oid in by_oid and by_oid[oid] in snap}
        refill |= rebuild
        # A table whose dirty trigger went (or was disabled) may have been written unseen.
        blind = {key for key in snap if key not in rebuild
                 and state.tables[key].oid in state.missing_triggers}
        refill |= blind
        if not refill and not extra and not summary:
            self._settle_sequences(cursor)
            cursor.execute(f"DELETE FROM {SCHEMA}.dirty")
            return summary
        # Emptying: TRUNCATE (the rows then come back in their original physical order) needs
        # every table referencing the truncated one in the same statement; a table referenced
        # only by soft keys (Django's) from tables left alone is emptied with DELETE instead. A
        # table referencing a refilled one by a hard key is refilled with it.
        referencing = {}
        for key, table in snap.items():
            for constraint in table.constraints:
                if constraint.references:
                    referencing.setdefault(constraint.references, []).append((key, constraint))
        pending = list(refill)
        while pending:
            key = pending.pop()
            for other, constraint in referencing.get(key, ()):
                if other not in refill and not constraint.soft:
                    refill.add(other)
                    pending.append(other)
        truncate = set(refill) - rebuild
        changed = True
        while changed:
            blocked = {key for key in truncate
                       if any(other not in truncate for other, _c in referencing.get(key, ()))}
            changed = bool(blocked)
            truncate -= blocked
        delete = refill - rebuild - truncate

        counters = {}
        for key, columns in MONOTONIC.items():
            if key in state.tables and state.tables[key].structure() == snap[key].structure():
                cursor.execute(f"SELECT {', '.join(f'max({ident(c)})' for c in columns)} "
                               f"FROM {qname(*key)}")
                counters[key] = cursor.fetchone()

        if rebuild:
            cursor.execute("DROP TABLE IF EXISTS " + ", ".join(qname(*k) for k in rebuild)
                           + " CASCADE")
            for key in rebuild:
                table = snap[key]
                for sequence, create, _column in table.sequences:
                    cursor.execute(f"DROP SEQUENCE IF EXISTS {sequence}")
                    cursor.execute(create)
                cursor.execute(table.create)
                for sequence, _create, column in table.sequences:
                    cursor.execute(f"ALTER SEQUENCE {sequence} OWNED BY {column}")
            summary.append(f"re-created {', '.join(sorted(qname(*k) for k in rebuild))}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        if truncate:
            cursor.execute("TRUNCATE " + ", ".join(sorted(snap[k].qualified for k in truncate)))
        for key in reversed(self.order):  # children first, for the keys checked at once
            if key in delete:
                cursor.execute(f"DELETE FROM {snap[key].qualified}")
        for key in self.order:  # parents first
            if key in refill:
                table = snap[key]
                listed = ", ".join(ident(c) for c in table.insert_columns)
                overriding = " OVERRIDING SYSTEM VALUE" if table.has_identity else ""
                cursor.execute(f"INSERT INTO {table.qualified} ({listed}){overriding} "
                               f"SELECT {listed} FROM {table.copy}")
        for key in blind:
            cursor.execute(f"DROP TRIGGER IF EXISTS {DIRTY_TRIGGER} ON {snap[key].qualified}")
            self._add_dirty_trigger(cursor, snap[key])
        for key in rebuild:
            table = snap[key]
            for constraint in table.constraints:
                if constraint.kind != "f":
                    cursor.execute(f"ALTER TABLE {table.qualified} ADD CONSTRAINT "
                                   f"{ident(constraint.name)} {constraint.definition}")
            for definition in table.indexes:
                cursor.execute(definition)
            for definition in table.triggers:
                cursor.execute(definition.rsplit(" [", 1)[0])
            self._add_dirty_trigger(cursor, table)
        if rebuild:
            # Foreign keys: those of the re-created tables, and those that DROP … CASCADE
            # removed from the tables referencing them.
            for key, table in snap.items():
                for constraint in table.constraints:
                    if constraint.kind == "f" and (key in rebuild
                                                   or constraint.references in rebuild):
                        cursor.execute(f"ALTER TABLE {table.qualified} DROP CONSTRAINT IF "
                                       f"EXISTS {ident(constraint.name)}")
                        cursor.execute(f"ALTER TABLE {table.qualified} ADD CONSTRAINT "
                                       f"{ident(constraint.name)} {constraint.definition}")
            # The snapshot keeps each table's oid, to notice a table replaced: note the new ones.
            for key in rebuild:
                cursor.execute("SELECT to_regclass(%s)::oid", [snap[key].qualified])
                snap[key].oid = cursor.fetchone()[0]
        if rebuild or extra:  # views depending on dropped tables went with them
            cursor.execute(f"""
                SELECT n.nspname, c.relname, c.relkind, pg_get_viewdef(c.oid) FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('v', 'm') AND {SCOPE}""")
            views = {(schema, name): (kind, definition)
                     for schema, name, kind, definition in cursor.fetchall()}
        else:
            views = state.views
        for key, (kind, definition) in self.state.views.items():
            if views.get(key) != (kind, definition):
                materialized = "MATERIALIZED " if kind == "m" else ""
                cursor.execute(f"CREATE {materialized}VIEW {qname(*key)} AS {definition}")
                summary.append(f"re-created view {qname(*key)}")
        for key, before in counters.items():
            for column, value in zip(MONOTONIC[key], before):
                if value is not None:
                    cursor.execute(f"UPDATE {qname(*key)} SET {ident(column)} = "
                                   f"greatest({ident(column)}, %s) + 1", [value])
        self._settle_sequences(cursor)
        if truncate or rebuild:  # planner statistics as before, for the same plans
            cursor.execute("ANALYZE " + ", ".join(sorted(snap[k].qualified
                                                         for k in truncate | rebuild)))
        summary.append(f"rows of {len(refill)} tables ({len(delete)} by DELETE)")
        cursor.execute(f"DELETE FROM {SCHEMA}.dirty")
        return summary

    def _settle_sequences(self, cursor):
        """No sequence behind the highest value it ever had (or the snapshot's)."""
        cursor.execute(f"""
            SELECT n.nspname, c.relname, s.last_value FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_sequences s ON s.schemaname = n.nspname AND s.sequencename = c.relname
            WHERE c.relkind = 'S' AND {SCOPE}
        """)
        for schema, name, value in cursor.fetchall():
            target = self.high_water.get((schema, name))
            if target is not None and (value is None or value < target):
                cursor.execute("SELECT setval(%s, %s)", [qname(schema, name), target])
