"""Reports published as two catalogue layers (WMS, WFS, REST, MVT like any layer).

As for the SPANC layers (fieldsync/publication.py), the Django models are the source of truth and
each layer is a real typed table in layers_data (fid = the report's id, geom Point 2154, GiST
index) kept up to date *in the transaction* of every change:

- ``signalements`` — public (anonymous included): category, status, commune, dates, number of
  supports. No description (free text, not moderated), no reporter, no internal comment. Reports
  rejected or merged as duplicates are not shown.
- ``signalements_services`` — for the services: every report, with its description, service,
  agent and due date, restricted by the access policy to the agent's commune (INSEE code); the
  intercommunality's staff see the whole territory. Never the reporter's contact: that stays in
  the processing pages, for the report's own service.

This module is the only code of the app that writes SQL on layers_data, and only on these two
tables.
"""
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Role
from layers.access import quote_ident
from layers.events import layer_data_changed
from layers.models import (
    AccessRule, Audience, Layer, Licence, Permission, RowRestriction, Theme, UpdateFrequency,
)
from layers.tables import DATA_SCHEMA, create_table, qualified, refresh_layer_metadata, table_exists

PUBLIC_LAYER = "signalements"
SERVICES_LAYER = "signalements_services"

PUBLIC_COLUMNS = [
    ("reference", "varchar(12)"), ("categorie", "text"), ("sous_categorie", "text"),
    ("statut", "varchar(20)"), ("statut_libelle", "text"), ("code_insee", "varchar(5)"),
    ("commune", "text"), ("signale_le", "timestamptz"), ("mis_a_jour_le", "timestamptz"),
    ("clos_le", "timestamptz"), ("soutiens", "integer"),
]
SERVICES_COLUMNS = PUBLIC_COLUMNS + [
    ("description", "text"), ("adresse", "text"), ("service", "text"), ("agent", "text"),
    ("echeance", "date"), ("origine", "varchar(10)"),
]

STATUS_LABELS_SQL = """CASE r.status WHEN 'nouveau' THEN 'nouveau'
    WHEN 'pris_en_compte' THEN 'pris en compte' WHEN 'en_cours' THEN 'en cours'
    WHEN 'resolu' THEN 'résolu' WHEN 'rejete' THEN 'rejeté' WHEN 'doublon' THEN 'doublon' END"""

_COMMON_SELECT = f"""
SELECT r.id, 'S-' || lpad(r.id::text, 6, '0'), coalesce(p.name, k.name),
       CASE WHEN p.id IS NULL THEN NULL ELSE k.name END, r.status, {STATUS_LABELS_SQL},
       c.insee, c.name, r.created_at, r.updated_at, r.resolved_at, r.supports"""
_FROM = """
FROM signalements_report r
JOIN signalements_category k ON k.id = r.category_id
LEFT JOIN signalements_category p ON p.id = k.parent_id
JOIN territory_commune c ON c.id = r.commune_id"""

PUBLIC_SELECT = _COMMON_SELECT + ", r.location" + _FROM + """
WHERE r.status NOT IN ('rejete', 'doublon') AND {where}"""

SERVICES_SELECT = _COMMON_SELECT + """,
       r.description, r.address, s.name, nullif(trim(u.first_name || ' ' || u.last_name), ''),
       r.due_on, r.source, r.location""" + _FROM + """
JOIN signalements_service s ON s.id = r.service_id
LEFT JOIN accounts_user u ON u.id = r.assigned_to_id
WHERE {where}"""

LAYERS = {
    PUBLIC_LAYER: {
        "title": "Signalements dans l'espace public",
        "abstract": "Signalements des habitants et des agents (voirie, propreté, éclairage, zones "
                    "d'activités…) : type, état et dates. Sans description ni donnée "
                    "personnelle ; les signalements rejetés ou fusionnés ne figurent pas.",
        "columns": PUBLIC_COLUMNS, "select": PUBLIC_SELECT, "licence": Licence.ETALAB_2,
        "rules": [{"audience": Audience.PUBLIC, "permission": Permission.DOWNLOAD}],
    },
    SERVICES_LAYER: {
        "title": "Signalements — vue des services",
        "abstract": "Tous les signalements avec leur description, leur service, l'agent chargé et "
                    "l'échéance. Chaque commune ne voit que les siens ; jamais le contact du "
                    "déclarant.",
        "columns": SERVICES_COLUMNS, "select": SERVICES_SELECT, "licence": Licence.RESTRICTED,
        "rules": [
            {"audience": Audience.ROLES, "roles": [Role.MUNICIPAL_AGENT],
             "permission": Permission.DOWNLOAD, "row_restriction": RowRestriction.COMMUNE_INSEE},
        ],
    },
}


def ensure_layers():
    """Create both catalogue layers, their tables and access rules when missing."""
    created = []
    for name, spec in LAYERS.items():
        layer = Layer.objects.filter(name=name).first()
        if layer is None:
            layer = Layer.objects.create(
                name=name, title=spec["title"], abstract=spec["abstract"],
                keywords=["signalements", "espace public", "Open311"],
                theme=Theme.objects.get_or_create(
                    slug="espace-public", defaults={"name": "Espace public"})[0],
                licence=spec["licence"], update_frequency=UpdateFrequency.CONTINUAL,
                insee_field="code_insee",
                lineage="Tenue à jour par l'application des signalements à chaque changement.",
            )
            for rule in spec["rules"]:
                AccessRule.objects.create(layer=layer, **rule)
            created.append(name)
        if not table_exists(DATA_SCHEMA, name):
            create_table(DATA_SCHEMA, name, spec["columns"], "POINT")
    return created


def _upsert(name, ids):
    spec = LAYERS[name]
    names = [quote_ident(n) for n in ["fid", *(column for column, _ in spec["columns"]), "geom"]]
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names[1:])
    with connection.cursor() as cursor:
        if name == PUBLIC_LAYER:  # rejected or merged: off the public map
            cursor.execute(f"DELETE FROM {qualified(DATA_SCHEMA, name)} WHERE fid = ANY(%s)",
                           [ids])
        cursor.execute(
            f"INSERT INTO {qualified(DATA_SCHEMA, name)} ({', '.join(names)}) "
            f"{spec['select'].format(where='r.id = ANY(%s)')} "
            f"ON CONFLICT (fid) DO UPDATE SET {updates}",
            [ids],
        )


def _extent(name, ids):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                       f"(SELECT ST_Extent(geom) AS e FROM {qualified(DATA_SCHEMA, name)} "
                       f"WHERE fid = ANY(%s)) s", [ids])
        row = cursor.fetchone()
    return tuple(row) if row and row[0] is not None else None


def _present(name, ids):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT fid FROM {qualified(DATA_SCHEMA, name)} WHERE fid = ANY(%s)",
                       [ids])
        return {row[0] for row in cursor.fetchall()}


def _follow_metadata(layer, inserted, deleted, after):
    """The catalogue's count and extents after the change. Measuring the whole table (what
    refresh_layer_metadata does) costs ~35 ms at 10,000 reports, twice per report: only done
    when the extents may have changed — rows removed, or added outside the stored extent. A
    status change keeps both; new reports inside the extent add to the count."""
    inside = after is None or (layer.extent is not None and _within(after, layer.extent.extent))
    if deleted or (inserted and not inside) or layer.feature_count is None:
        refresh_layer_metadata(layer)
        return
    layer.feature_count += len(inserted)
    layer.data_updated_at = timezone.now()
    layer.save(update_fields=["feature_count", "data_updated_at", "updated_at"])


def _within(box, outer):
    return outer[0] <= box[0] and outer[1] <= box[1] and box[2] <= outer[2] and box[3] <= outer[3]


def publish(*report_ids):
    """Refresh the published rows of these reports, inside the caller's transaction (a rolled
    back change is never shown); tile caches are told which area changed, and the catalogue's
    count and extent follow."""
    ids = sorted({int(i) for i in report_ids})
    if not ids:
        return
    ensure_layers()
    for name in LAYERS:
        before = _extent(name, ids)
        present = _present(name, ids)
        _upsert(name, ids)
        after = _extent(name, ids)
        now_present = _present(name, ids)
        layer = Layer.objects.get(name=name)
        boxes = [b for b in (before, after) if b]
        if boxes:
            bbox = (min(b[0] for b in boxes), min(b[1] for b in boxes),
                    max(b[2] for b in boxes), max(b[3] for b in boxes))
            transaction.on_commit(
                lambda layer=layer, bbox=bbox: layer_data_changed.send(
                    sender=Layer, layer=layer, bbox=bbox))
        _follow_metadata(layer, now_present - present, present - now_present, after)


@transaction.atomic
def rebuild():
    """Rebuild both tables from the reports (manage.py signalements_publier_couches)."""
    ensure_layers()
    for name in LAYERS:
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {qualified(DATA_SCHEMA, name)}")
            cursor.execute("SELECT array_agg(id) FROM signalements_report")
            (ids,) = cursor.fetchone()
        if ids:
            _upsert(name, ids)
        refresh_layer_metadata(Layer.objects.get(name=name))
