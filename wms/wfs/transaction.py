"""WFS-T: Transaction (Insert, Update, Delete) over catalogue layers, as QGIS sends it.

QGIS posts a WFS 1.1.0 document (namespace http://www.opengis.net/wfs, GML 3.1.1,
``ogc:Filter/ogc:FeatureId fid="layer.12"``) even to a 2.0 server and only understands a
1.1-style TransactionResponse; a 2.0 document (fes:ResourceId rid=…) is answered 2.0-style.

Rules:
- each action needs the EDIT permission on its layer (AccessPolicy.source); the FeatureSource
  writes (layers.features.writing): its write filter limits the rows that may be updated or
  deleted, inserted or updated rows must still be inside it afterwards (a commune agent cannot
  move a feature out of his commune), and only its writable columns may be set;
- geometries are read by PostGIS (ST_GeomFromGML), axis order taken from the srsName, reprojected
  to Lambert-93, refused when invalid (with PostGIS's reason); attribute values are cast to their
  column's type, a refused value is an InvalidParameterValue naming the attribute;
- all or nothing: one database transaction for the whole document; each change recorded as a
  FeatureChange (values before and after), one Publication of mode EDIT per document, the
  layer's computed metadata refreshed and layers.events.layer_data_changed sent with the extent.
"""
from dataclasses import dataclass, field

from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from gisserver.crs import CRS
from gisserver.exceptions import ExternalValueError

from layers.access import AccessDenied, AccessPolicy, LayerNotFound
from layers.events import layer_data_changed
from layers.features import (InvalidGeometry, InvalidValue, OperationDenied, OutsideWriteFilter,
                             ReadOnlyColumn, UnknownColumn,
                             geometry_from_gml)
from layers.models import FeatureChange, Layer, Permission, Publication
from layers.tables import GEOMETRY_COLUMN, SRID, refresh_layer_metadata

from .exceptions import WFSError
from .xml import FES20, GML31, GML32, OGC, WFS11, WFS20, split

ACCEPTED_SRIDS = {2154, 4326, 3857}


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
        grant = policy.source(name, Permission.EDIT)
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


def checked_values(grant, values):
    """{attribute: text or None} -> same, each attribute writable and each value accepted by its
    column's type (the FeatureSource checks), or an OGC exception naming the attribute."""
    try:
        return grant.checked_values(values)
    except UnknownColumn as error:
        raise WFSError("InvalidParameterValue", error.name,
                       _("« %(name)s » n'est pas un attribut de la couche « %(layer)s ».")
                       % {"name": error.name, "layer": grant.layer.name}) from None
    except ReadOnlyColumn as error:
        raise WFSError("PermissionDenied", error.name,
                       _("Vous n'avez pas le droit de modifier l'attribut « %(name)s » de la "
                         "couche « %(layer)s ».") % {"name": error.name,
                                                      "layer": grant.layer.name}) from None
    except InvalidValue as error:
        raise WFSError("InvalidParameterValue", error.name,
                       _("La valeur « %(value)s » ne convient pas à l'attribut « %(name)s » "
                         "(type %(type)s).") % {"value": error.value[:100], "name": error.name,
                                                "type": error.type}) from None


OPERATION_LABELS = {  # lazy: translated when a refusal is written, in the request's language
    "insert": gettext_lazy("ajouter des objets à"),
    "update_attributes": gettext_lazy("modifier les attributs de"),
    "update_geometry": gettext_lazy("modifier les géométries de"),
    "delete": gettext_lazy("supprimer des objets de"),
}


def guarded(grant, locator, write):
    """Run a write of the feature source; its refusals as OGC exceptions (nothing written)."""
    try:
        return write()
    except OperationDenied as error:
        if error.reason:
            raise WFSError("PermissionDenied", locator, error.reason) from None
        raise WFSError("PermissionDenied", locator,
                       _("Vous n'avez pas le droit de %(operation)s la couche « %(layer)s » : "
                         "rien n'a été enregistré.")
                       % {"operation": OPERATION_LABELS.get(error.operation, error.operation),
                          "layer": grant.layer.name}) from None
    except OutsideWriteFilter as error:
        raise WFSError("PermissionDenied", locator,
                       _("Ces objets sont ou seraient hors du périmètre que vous pouvez modifier "
                         "dans « %(layer)s » (%(fids)s) : rien n'a été enregistré.")
                       % {"layer": grant.layer.name,
                          "fids": ", ".join(map(str, error.fids[:20]))}) from None


def geometry_value(gml_element, locator):
    """A GML geometry as a checked GeometryValue in EPSG:2154 (layers.features.writing)."""
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
    try:
        return geometry_from_gml(tostring(gml_element, encoding="unicode"), srid, flip)
    except InvalidGeometry as error:
        if error.kind == "unreadable":
            message = _("Géométrie GML illisible : %(error)s") % {"error": error.detail}
        elif error.kind == "empty":
            message = _("La géométrie est vide.")
        else:
            message = _("Géométrie invalide (%(reason)s) : corrigez-la avant d'enregistrer.") \
                % {"reason": error.detail}
        raise WFSError("InvalidParameterValue", locator, message) from None


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
        geometry, values = None, {}
        for prop in feature:
            prop_name = split(prop.tag)[1]
            gml = next((child for child in prop if is_gml(child)), None)
            if prop_name == GEOMETRY_COLUMN or gml is not None:
                if gml is None:
                    continue  # an empty geometry property: null geometry
                geometry = geometry_value(gml, prop_name)
            elif prop_name in ("boundedBy", "name", "description") and is_gml(prop):
                continue
            else:
                values[prop_name] = prop.text if prop.text is not None else None
        if not grant.holds("insert"):
            guarded(grant, "Insert", lambda: grant.require("insert"))
        values = checked_values(grant, values)
        fid = guarded(grant, "Insert", lambda: grant.insert(values, geometry))
        check_inside_grant(grant, [fid], "Insert", ["insert"])
        new = grant.snapshot([fid])
        outcome.changes.setdefault(name, []).extend(
            grant.record(FeatureChange.Action.INSERT, [fid], after=new, source="wfs-t"))
        outcome.changed.setdefault(name, []).append(grant.extent_of([fid]))
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


def rows_for_change(action, grant, fids, locator, operations=()):
    """Lock the rows; refuse unknown ids and rows outside the write filters of operations."""
    for operation in operations:
        if not grant.holds(operation):
            guarded(grant, locator, lambda: grant.require(operation))
    found = grant.lock(fids, operations)
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
    values, set_geometry, geometry = {}, False, None
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
        gml = next((c for c in value_node if is_gml(c)), None) if value_node is not None else None
        if prop_name == GEOMETRY_COLUMN or gml is not None:
            set_geometry = True
            geometry = geometry_value(gml, prop_name) if gml is not None else None
        else:
            values[prop_name] = value_node.text if value_node is not None else None
    if set_geometry and not grant.holds("update_geometry"):
        guarded(grant, "Update", lambda: grant.require("update_geometry"))
    values = checked_values(grant, values)
    if not values and not set_geometry:
        raise WFSError("MissingParameterValue", "Property",
                       _("Update ne contient aucune Property à modifier."))
    operations = grant.update_operations(values, set_geometry)
    rows_for_change(action, grant, fids, "Update", operations)
    before = grant.snapshot(fids)
    boxes = [grant.extent_of(fids)]
    outcome.updated += guarded(grant, "Update",
                               lambda: grant.update(fids, values, geometry, set_geometry))
    check_inside_grant(grant, fids, "Update", operations)
    after = grant.snapshot(fids)
    boxes.append(grant.extent_of(fids))
    outcome.changes.setdefault(name, []).extend(
        grant.record(FeatureChange.Action.UPDATE, fids, before, after, source="wfs-t"))
    outcome.changed.setdefault(name, []).extend(boxes)


def do_delete(action, policy, grants, outcome, user):
    name = type_name(action)
    grant = edit_grant(name, policy, grants, user)
    fids = filter_fids(action, name)
    rows_for_change(action, grant, fids, "Delete", ["delete"])
    before = grant.snapshot(fids)
    outcome.changed.setdefault(name, []).append(grant.extent_of(fids))
    outcome.deleted += guarded(grant, "Delete", lambda: grant.delete(fids))
    outcome.changes.setdefault(name, []).extend(
        grant.record(FeatureChange.Action.DELETE, fids, before, source="wfs-t"))


HANDLERS = {"Insert": do_insert, "Update": do_update, "Delete": do_delete}


# --- helpers over changed rows -------------------------------------------------------------------
def check_inside_grant(grant, fids, locator, operations=()):
    """After the change, the rows must still be rows the user may edit (the write filter)."""
    if not grant.inside(fids, operations):
        raise WFSError("PermissionDenied", locator,
                       _("Ces objets sortiraient du périmètre que vous pouvez modifier dans "
                         "« %(layer)s » (votre commune) : rien n'a été enregistré.")
                       % {"layer": grant.layer.name})


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
