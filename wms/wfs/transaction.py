"""WFS-T: Transaction (Insert, Update, Delete) over catalogue layers, as QGIS sends it.

QGIS posts a WFS 1.1.0 document (namespace http://www.opengis.net/wfs, GML 3.1.1,
``ogc:Filter/ogc:FeatureId fid="layer.12"``) even to a 2.0 server and only understands a
1.1-style TransactionResponse; a 2.0 document (fes:ResourceId rid=…) is answered 2.0-style.

Rules:
- each action needs the EDIT permission on its layer (AccessPolicy.grant); the Grant's row filter
  limits the rows that may be updated or deleted, and inserted or updated rows must still be
  inside it afterwards (a commune agent cannot move a feature out of his commune);
- geometries are read by PostGIS (ST_GeomFromGML), axis order taken from the srsName, reprojected
  to Lambert-93, refused when invalid (with PostGIS's reason); attribute values are cast to their
  column's type, a refused value is an InvalidParameterValue naming the attribute;
- all or nothing: one database transaction for the whole document; each change recorded as a
  FeatureChange (values before and after), one Publication of mode EDIT per document, the
  layer's computed metadata refreshed and layers.events.layer_data_changed sent with the extent.
"""
import json
from dataclasses import dataclass, field

from django.db import DatabaseError, connection, transaction
from django.utils.translation import gettext as _
from gisserver.crs import CRS
from gisserver.exceptions import ExternalValueError

from layers.access import AccessDenied, AccessPolicy, LayerNotFound, quote_ident
from layers.events import layer_data_changed
from layers.models import DATA_SCHEMA, FeatureChange, Layer, Permission, Publication
from layers.tables import GEOMETRY_COLUMN, PRIMARY_KEY, SRID, qualified, refresh_layer_metadata

from .exceptions import WFSError
from .xml import FES20, GML31, GML32, OGC, WFS11, WFS20, split

ACCEPTED_SRIDS = {2154, 4326, 3857}
FID = quote_ident(PRIMARY_KEY)
GEOM = quote_ident(GEOMETRY_COLUMN)


@dataclass
class Outcome:
    inserted: list = field(default_factory=list)   # (handle, layer name, fid)
    updated: int = 0
    deleted: int = 0
    changed: dict = field(default_factory=dict)    # layer name -> [bbox tuples]
    changes: dict = field(default_factory=dict)    # layer name -> [FeatureChange]


# --- entry point ---------------------------------------------------------------------------------
def execute(request, root):
    namespace, _local = split(root.tag)
    if namespace not in (WFS11, WFS20):
        raise WFSError("OperationNotSupported", "Transaction",
                       _("Espace de noms inconnu pour Transaction : %(ns)s.") % {"ns": namespace})
    version = "2.0.0" if namespace == WFS20 else "1.1.0"
    if namespace == WFS11 and root.get("version") == "1.0.0":
        version = "1.0.0"  # QGIS up to 3.28 against a 2.0 server (see responses.py)
    policy = AccessPolicy.for_user(request.user)
    outcome = Outcome()
    actions = list(root)
    if not actions:
        raise WFSError("MissingParameterValue", "Transaction",
                       _("La transaction ne contient aucune action (Insert, Update, Delete)."))
    try:
        with transaction.atomic():
            grants = {}
            for action in actions:
                _ns, kind = split(action.tag)
                handler = HANDLERS.get(kind)
                if handler is None:
                    raise WFSError("OperationNotSupported", kind or "Transaction",
                                   _("Action de transaction non prise en charge : %(kind)s "
                                     "(seuls Insert, Update et Delete le sont).") % {"kind": kind})
                handler(action, policy, grants, outcome, request.user)
            record_publications(grants, outcome, request.user)
    except DatabaseError as error:
        raise WFSError("InvalidParameterValue", "Transaction",
                       _("Transaction refusée par la base de données, rien n'a été modifié : "
                         "%(error)s") % {"error": first_line(error)}) from None
    for name, boxes in outcome.changed.items():
        layer = grants[name].layer
        layer_data_changed.send(sender=Layer, layer=layer, bbox=union(boxes))
    from .responses import transaction_response
    return transaction_response(version, outcome)


def first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else error.__class__.__name__


def union(boxes):
    boxes = [box for box in boxes if box]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


# --- layers and rights ---------------------------------------------------------------------------
def type_name(action):
    value = action.get("typeName") or action.get("typeNames") or ""
    return value.split(":")[-1].strip()


def edit_grant(name, policy, grants, user, locator="typeName"):
    if name in grants:
        return grants[name]
    try:
        grant = policy.grant(name, Permission.EDIT)
    except LayerNotFound:
        raise WFSError("InvalidParameterValue", locator,
                       _("Le type d'objets « %(name)s » n'existe pas sur ce serveur, ou vous n'y "
                         "avez pas accès.") % {"name": name},
                       authenticate=not policy.authenticated) from None
    except AccessDenied:
        if not policy.authenticated:
            raise WFSError("PermissionDenied", locator,
                           _("Identifiez-vous pour modifier « %(name)s ».") % {"name": name},
                           status=401, authenticate=True) from None
        raise WFSError("PermissionDenied", locator,
                       _("Vous n'avez pas le droit de modifier la couche « %(name)s ».")
                       % {"name": name}) from None
    if not grant.layer.is_vector:
        raise WFSError("InvalidParameterValue", locator,
                       _("La couche « %(name)s » n'est pas une couche vectorielle modifiable.")
                       % {"name": name})
    # Serialise edits of one layer (fid order, versions of Publication).
    list(Layer.objects.select_for_update().filter(pk=grant.layer.pk).order_by().values_list("pk"))
    grants[name] = grant
    return grant


def table(grant):
    return qualified(DATA_SCHEMA, grant.layer.name)


def attribute_types(grant):
    return {a["name"]: a["type"] for a in grant.layer.attributes}


# --- values --------------------------------------------------------------------------------------
TEXT_TYPES = ("text", "character", "varchar", "char", "uuid")


def checked_values(grant, values):
    """{attribute: text or None} -> same, each value checked against its column's type."""
    types = attribute_types(grant)
    for name, value in values.items():
        if name not in types:
            raise WFSError("InvalidParameterValue", name,
                           _("« %(name)s » n'est pas un attribut de la couche « %(layer)s ».")
                           % {"name": name, "layer": grant.layer.name})
        pgtype = types[name]
        if value == "" and not pgtype.startswith(TEXT_TYPES):
            values[name] = value = None  # an emptied field of a number or date column: null
        if value is None:
            continue
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SELECT CAST(%s AS {pgtype})", [value])
        except (DatabaseError, ValueError):
            raise WFSError("InvalidParameterValue", name,
                           _("La valeur « %(value)s » ne convient pas à l'attribut « %(name)s » "
                             "(type %(type)s).") % {"value": value[:100], "name": name,
                                                    "type": pgtype}) from None
    return values


def geometry_sql(gml_element, grant, locator):
    """(sql expression, params) of a GML geometry in EPSG:2154, checked by PostGIS."""
    srs_name = find_srs_name(gml_element)
    srid, flip = SRID, False
    if srs_name:
        try:
            crs = CRS.from_string(srs_name)
        except (ExternalValueError, ValueError):
            raise WFSError("InvalidParameterValue", "srsName",
                           _("Système de coordonnées inconnu : « %(srs)s ».") % {"srs": srs_name}) from None
        if crs.srid not in ACCEPTED_SRIDS:
            raise WFSError("InvalidParameterValue", "srsName",
                           _("Système de coordonnées non proposé : « %(srs)s » (EPSG:2154, 4326 "
                             "ou 3857).") % {"srs": srs_name})
        srid = crs.srid
        flip = not crs.force_xy and crs.is_north_east_order
    for element in gml_element.iter():
        element.attrib.pop("srsName", None)
    from xml.etree.ElementTree import tostring
    text = tostring(gml_element, encoding="unicode")
    expression = "ST_GeomFromGML(%s, %s)"
    if flip:
        expression = f"ST_FlipCoordinates({expression})"
    if srid != SRID:
        expression = f"ST_Transform({expression}, {SRID})"
    params = [text, srid]
    with connection.cursor() as cursor:
        try:
            with transaction.atomic():
                cursor.execute(f"SELECT ST_IsValidReason(g), ST_IsEmpty(g), GeometryType(g) "
                               f"FROM (SELECT {expression} AS g) s", params)
                reason, empty, kind = cursor.fetchone()
        except (DatabaseError, ValueError) as error:
            raise WFSError("InvalidParameterValue", locator,
                           _("Géométrie GML illisible : %(error)s") % {"error": first_line(error)}) from None
    if empty:
        raise WFSError("InvalidParameterValue", locator, _("La géométrie est vide."))
    if reason != "Valid Geometry":
        raise WFSError("InvalidParameterValue", locator,
                       _("Géométrie invalide (%(reason)s) : corrigez-la avant d'enregistrer.")
                       % {"reason": reason})
    column_type = (grant.layer.geometry_type or "").upper()
    if column_type.startswith("MULTI") and not kind.startswith("MULTI"):
        expression = f"ST_Multi({expression})"
    return expression, params


def find_srs_name(element):
    for node in element.iter():
        if node.get("srsName"):
            return node.get("srsName").strip()
    return None


def is_gml(element):
    return split(element.tag)[0] in (GML31, GML32)


# --- Insert --------------------------------------------------------------------------------------
def do_insert(action, policy, grants, outcome, user):
    handle = action.get("handle", "")
    features = list(action)
    if not features:
        raise WFSError("MissingParameterValue", "Insert", _("Insert ne contient aucun objet."))
    for feature in features:
        name = split(feature.tag)[1]
        grant = edit_grant(name, policy, grants, user, locator="Insert")
        columns, expressions, params = [], [], []
        values = {}
        for prop in feature:
            prop_name = split(prop.tag)[1]
            geometry = next((child for child in prop if is_gml(child)), None)
            if prop_name == GEOMETRY_COLUMN or geometry is not None:
                if geometry is None:
                    continue  # an empty geometry property: null geometry
                sql, geometry_params = geometry_sql(geometry, grant, prop_name)
                columns.append(GEOM)
                expressions.append(sql)
                params += geometry_params
            elif prop_name in ("boundedBy", "name", "description") and is_gml(prop):
                continue
            else:
                values[prop_name] = prop.text if prop.text is not None else None
        values = checked_values(grant, values)
        for column, value in values.items():
            columns.append(quote_ident(column))
            expressions.append("%s")
            params.append(value)
        columns_sql = f"({', '.join(columns)}) VALUES ({', '.join(expressions)})" if columns \
            else "DEFAULT VALUES"
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table(grant)} {columns_sql} RETURNING {FID}", params)
            fid = cursor.fetchone()[0]
        check_inside_grant(grant, [fid], "Insert")
        new = snapshot(grant, [fid])[fid]
        outcome.changes.setdefault(name, []).append(FeatureChange.objects.create(
            layer=grant.layer, fid=fid, action=FeatureChange.Action.INSERT,
            changed_by=user_or_none(user), new_values=new, source="wfs-t"))
        outcome.changed.setdefault(name, []).append(extent(grant, [fid]))
        outcome.inserted.append((feature.get("handle") or handle, name, fid))


# --- Update / Delete -----------------------------------------------------------------------------
def filter_fids(action, layer_name):
    """The feature ids of an Update/Delete filter (FeatureId, GmlObjectId, ResourceId)."""
    filters = [child for child in action if split(child.tag)[1] == "Filter"]
    if not filters:
        raise WFSError("MissingParameterValue", "Filter",
                       _("Update et Delete demandent un filtre par identifiants (FeatureId).") )
    fids = []
    for node in filters[0]:
        namespace, local = split(node.tag)
        if local == "FeatureId" and namespace == OGC:
            raw = node.get("fid")
        elif local == "GmlObjectId" and namespace == OGC:
            raw = node.get(f"{{{GML31}}}id") or node.get("id")
        elif local == "ResourceId" and namespace == FES20:
            raw = node.get("rid")
        else:
            raise WFSError("OptionNotSupported", "Filter",
                           _("Seuls les filtres par identifiants (FeatureId, ResourceId) sont "
                             "acceptés pour Update et Delete, pas « %(filter)s ».") % {"filter": local})
        fids.append(parse_fid(raw, layer_name))
    if not fids:
        raise WFSError("MissingParameterValue", "Filter",
                       _("Le filtre ne contient aucun identifiant d'objet."))
    return sorted(set(fids))


def parse_fid(raw, layer_name):
    raw = (raw or "").strip()
    prefix, dot, number = raw.rpartition(".")
    if (dot and prefix != layer_name) or not number.isdigit():
        raise WFSError("InvalidParameterValue", "fid",
                       _("Identifiant d'objet invalide pour « %(layer)s » : « %(fid)s » (attendu : "
                         "%(layer)s.<numéro>).") % {"layer": layer_name, "fid": raw[:100]})
    return int(number)


def rows_for_change(action, grant, fids, locator):
    """Lock the rows; refuse unknown ids and rows outside the grant."""
    sql, params = grant.where("t")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t.{FID}, ({sql}) FROM {table(grant)} t WHERE t.{FID} = ANY(%s) "
                       f"FOR UPDATE", [*params, fids])
        found = dict(cursor.fetchall())
    missing = [fid for fid in fids if fid not in found]
    if missing:
        raise WFSError("InvalidParameterValue", locator,
                       _("Objets introuvables dans « %(layer)s » : %(fids)s.")
                       % {"layer": grant.layer.name, "fids": ", ".join(map(str, missing[:20]))})
    outside = [fid for fid, allowed in found.items() if not allowed]
    if outside:
        raise WFSError("PermissionDenied", locator,
                       _("Vous n'avez pas le droit de modifier ces objets de « %(layer)s » : "
                         "%(fids)s.") % {"layer": grant.layer.name,
                                         "fids": ", ".join(map(str, sorted(outside)[:20]))})


def do_update(action, policy, grants, outcome, user):
    name = type_name(action)
    grant = edit_grant(name, policy, grants, user)
    fids = filter_fids(action, name)
    assignments, params, values = [], [], {}
    for prop in action:
        if split(prop.tag)[1] != "Property":
            continue
        prop_name, value_node = None, None
        for child in prop:
            local = split(child.tag)[1]
            if local in ("Name", "ValueReference"):
                prop_name = (child.text or "").strip().split(":")[-1].split("/")[-1]
            elif local == "Value":
                value_node = child
        if not prop_name:
            raise WFSError("MissingParameterValue", "Property",
                           _("Chaque Property d'un Update nomme l'attribut à modifier."))
        geometry = next((c for c in value_node if is_gml(c)), None) if value_node is not None else None
        if prop_name == GEOMETRY_COLUMN or geometry is not None:
            if geometry is None:
                assignments.append(f"{GEOM} = NULL")
            else:
                sql, geometry_params = geometry_sql(geometry, grant, prop_name)
                assignments.append(f"{GEOM} = {sql}")
                params += geometry_params
        else:
            values[prop_name] = value_node.text if value_node is not None else None
    values = checked_values(grant, values)
    for column, value in values.items():
        assignments.append(f"{quote_ident(column)} = %s")
        params.append(value)
    if not assignments:
        raise WFSError("MissingParameterValue", "Property",
                       _("Update ne contient aucune Property à modifier."))
    rows_for_change(action, grant, fids, "Update")
    before = snapshot(grant, fids)
    boxes = [extent(grant, fids)]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table(grant)} SET {', '.join(assignments)} WHERE {FID} = ANY(%s)",
                       [*params, fids])
        outcome.updated += cursor.rowcount
    check_inside_grant(grant, fids, "Update")
    after = snapshot(grant, fids)
    boxes.append(extent(grant, fids))
    outcome.changes.setdefault(name, []).extend(FeatureChange.objects.bulk_create(
        FeatureChange(layer=grant.layer, fid=fid, action=FeatureChange.Action.UPDATE,
                      changed_by=user_or_none(user), old_values=before[fid], new_values=after[fid],
                      source="wfs-t")
        for fid in fids
    ))
    outcome.changed.setdefault(name, []).extend(boxes)


def do_delete(action, policy, grants, outcome, user):
    name = type_name(action)
    grant = edit_grant(name, policy, grants, user)
    fids = filter_fids(action, name)
    rows_for_change(action, grant, fids, "Delete")
    before = snapshot(grant, fids)
    outcome.changed.setdefault(name, []).append(extent(grant, fids))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table(grant)} WHERE {FID} = ANY(%s)", [fids])
        outcome.deleted += cursor.rowcount
    outcome.changes.setdefault(name, []).extend(FeatureChange.objects.bulk_create(
        FeatureChange(layer=grant.layer, fid=fid, action=FeatureChange.Action.DELETE,
                      changed_by=user_or_none(user), old_values=before[fid], source="wfs-t")
        for fid in fids
    ))


HANDLERS = {"Insert": do_insert, "Update": do_update, "Delete": do_delete}


# --- helpers over changed rows -------------------------------------------------------------------
def check_inside_grant(grant, fids, locator):
    """After the change, the rows must still be rows the user may edit (row restriction)."""
    if not grant.restricted:
        return
    sql, params = grant.where("t")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table(grant)} t WHERE t.{FID} = ANY(%s) AND {sql}",
                       [fids, *params])
        inside = cursor.fetchone()[0]
    if inside != len(fids):
        raise WFSError("PermissionDenied", locator,
                       _("Ces objets sortiraient du périmètre que vous pouvez modifier dans "
                         "« %(layer)s » (votre commune) : rien n'a été enregistré.")
                       % {"layer": grant.layer.name})


def snapshot(grant, fids):
    """{fid: {attribute: value, "geom": GeoJSON in EPSG:2154}} of rows, for the history."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.{FID}, (to_jsonb(t) - {quote_literal(GEOMETRY_COLUMN)} - "
            f"{quote_literal(PRIMARY_KEY)}) || jsonb_build_object({quote_literal(GEOMETRY_COLUMN)}, "
            f"ST_AsGeoJSON(t.{GEOM}, 2)::jsonb) FROM {table(grant)} t WHERE t.{FID} = ANY(%s)",
            [fids],
        )
        return {fid: (json.loads(values) if isinstance(values, str) else values)
                for fid, values in cursor.fetchall()}


def quote_literal(text):
    return "'" + text.replace("'", "''") + "'"


def extent(grant, fids):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                       f"ST_Extent(t.{GEOM}) AS e FROM {table(grant)} t WHERE t.{FID} = ANY(%s)) s",
                       [fids])
        row = cursor.fetchone()
    return tuple(row) if row and row[0] is not None else None


def user_or_none(user):
    return user if user is not None and user.is_authenticated else None


def record_publications(grants, outcome, user):
    """One EDIT Publication per layer changed by this document, metadata refreshed."""
    for name in outcome.changed:
        layer = grants[name].layer
        refresh_layer_metadata(layer)
        latest = layer.publications.order_by("-version").first()
        changes = outcome.changes.get(name, [])
        counts = {action: sum(1 for change in changes if change.action == action)
                  for action in FeatureChange.Action.values}
        publication = Publication.objects.create(
            layer=layer, version=(latest.version if latest else 0) + 1,
            mode=Publication.Mode.EDIT, published_by=user_or_none(user),
            source_name="WFS-T", feature_count=layer.feature_count,
            report={"source": "wfs-t", **counts},
        )
        FeatureChange.objects.filter(pk__in=[c.pk for c in changes]).update(publication=publication)
