"""OGC API – Features at /ogc/: Part 1 Core, Part 2 CRS by reference, Part 3 filtering (CQL2),
Part 4 create / replace / update / delete, in GeoJSON (and JSON) and French HTML.

Every collection, every feature and every write goes through the access policy's feature source
(``AccessPolicy.for_user(user).source(layer, permission)``): the collections are the layers the
user may view, the features the rows the source gives him, the writes those its write filter
allows, with the history WFS-T keeps. A layer one may not view is answered as unknown (404), as
everywhere on the platform. No SQL is written here.
"""
import hashlib
import json
import re
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.db import DatabaseError, transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from layers.access import AccessDenied, AccessPolicy, LayerNotFound
from layers.events import layer_data_changed
from layers.features import (All, Compare, FeatureQuery, Fids, In, InvalidGeometry, InvalidValue,
                             OperationDenied, OutsideWriteFilter, ReadOnlyColumn, UnknownColumn,
                             geometry_from_geojson, storage_area)
from layers.models import FeatureChange, Layer, Permission, Publication
from layers.tables import refresh_layer_metadata
from maps import decisions

from . import crs as crs_module
from . import maps, temporal, tiles
from .constants import CONFORMANCE, DEFAULT_LIMIT, MAX_LIMIT
from .cql import LANGUAGES, compile_filter
from .errors import ApiError, bad_request, exception_response, not_found
from .openapi import definition

GEOJSON = "application/geo+json"
JSON_TYPE = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
ITEMS_PARAMETERS = {"f", "limit", "bbox", "bbox-crs", "datetime", "crs", "filter", "filter-lang",
                    "filter-crs", "offset", "after", "sortby", "token", "access_token"}
MAX_SORT_KEYS = 5
UNSORTABLE = ("json", "bytea", "geometry")
QUERYABLE_TYPES = {
    "smallint": ("integer", None), "integer": ("integer", None), "bigint": ("integer", None),
    "numeric": ("number", None), "real": ("number", None), "double precision": ("number", None),
    "boolean": ("boolean", None), "date": ("string", "date"),
    "timestamp": ("string", "date-time"),
}
NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


# --- helpers -------------------------------------------------------------------------------------
def base_url(request):
    return request.build_absolute_uri(reverse("ogcapi:landing")).rstrip("/")


def wants(request, offered):
    """The format asked: ?f= first (json, geojson, html), then the Accept header."""
    fmt = request.GET.get("f", "").lower()
    if fmt:
        if fmt in ("json", "geojson", "application/json", "application/geo+json"):
            return "json"
        if fmt in ("html", "text/html"):
            return "html"
        raise bad_request(_("Format inconnu : %(f)s (json ou html).") % {"f": fmt})
    accept = request.headers.get("Accept", "")
    if "text/html" in accept and "json" not in accept.split(",")[0] and "html" in offered:
        return "html"
    return "json"


def json_response(document, content_type=JSON_TYPE, status=200, headers=None):
    response = HttpResponse(json.dumps(document, ensure_ascii=False, default=str),
                            content_type=content_type, status=status)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def link(href, rel, media_type, title):
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def api_view(methods):
    """Method check, ApiError → OGC API exception, never an HTML page."""
    def decorate(view):
        @csrf_exempt  # sessions are checked by accounts.csrf (DesktopAuthMiddleware)
        def wrapper(request, *args, **kwargs):
            if request.method == "HEAD" and "GET" in methods:
                request.method = "GET"
            if request.method == "OPTIONS":
                response = HttpResponse(status=204)
                response["Allow"] = ", ".join(methods + ["OPTIONS"])
                return response
            if request.method not in methods:
                response = exception_response(405, "MethodNotAllowed",
                                              _("Méthode HTTP non acceptée à cette adresse."))
                response["Allow"] = ", ".join(methods + ["OPTIONS"])
                return response
            try:
                return view(request, *args, **kwargs)
            except ApiError as error:
                return error.response()
        wrapper.__name__ = view.__name__
        wrapper.__doc__ = view.__doc__
        return wrapper
    return decorate


def policy_of(request):
    return AccessPolicy.for_user(request.user)


def collection_layers(policy):
    return (policy.layers(Permission.VIEW).filter(kind=Layer.Kind.VECTOR)
            .select_related("theme", "owner_commune").order_by("name"))


def source_of(request, name, permission=Permission.VIEW, cached=False):
    """The request user's FeatureSource of a collection. cached: answered from this worker's
    cache of access decisions while the catalogue has not changed (maps.decisions: one tiny
    query instead of the layer's and its rules'), for the reads a client repeats page after
    page; the source's layer then holds the catalogue's fields, not the rows' count or extent
    of the moment (read them afresh)."""
    try:
        if cached:
            source = decisions.source(request.user, name, permission)
        else:
            source = policy_of(request).source(name, permission)
    except LayerNotFound:
        raise not_found(_("Collection inconnue : %(name)s.") % {"name": name}) from None
    except AccessDenied:
        if not request.user.is_authenticated:
            raise ApiError(401, "Unauthorized", _("Identifiez-vous pour modifier « %(name)s ».")
                           % {"name": name},
                           {"WWW-Authenticate": 'Basic realm="C@p Géo", charset="UTF-8"'}
                           ) from None
        raise ApiError(403, "Forbidden", _("Vous pouvez consulter « %(name)s » mais pas la "
                                           "modifier.") % {"name": name}) from None
    if not published(source):
        raise not_found(_("Collection inconnue : %(name)s.") % {"name": name})
    return source


def published(source):
    """A vector layer whose table exists (its data are published)."""
    return source.published()


# --- landing page, conformance, API definition ---------------------------------------------------
@api_view(["GET"])
def landing(request):
    base = base_url(request)
    name = settings.CAPGEO_INTERCOMMUNALITY_NAME
    document = {
        "title": _("C@p Géo — OGC API de %(name)s") % {"name": name},
        "description": _("Les couches de la plateforme SIG communautaire en OGC API – Features "
                         "(GeoJSON), selon vos droits."),
        "links": [
            link(f"{base}/", "self", JSON_TYPE, _("Cette page")),
            link(f"{base}/?f=html", "alternate", HTML, _("Cette page en HTML")),
            link(f"{base}/api", "service-desc", OPENAPI, _("Définition de l'API (OpenAPI 3.0)")),
            link(f"{base}/api?f=html", "service-doc", HTML, _("Documentation de l'API")),
            link(f"{base}/conformance", "conformance", JSON_TYPE, _("Classes de conformité")),
            link(f"{base}/conformance", "http://www.opengis.net/def/rel/ogc/1.0/conformance",
                 JSON_TYPE, _("Classes de conformité")),
            link(f"{base}/collections", "data", JSON_TYPE, _("Collections")),
            link(f"{base}/collections", "http://www.opengis.net/def/rel/ogc/1.0/data", JSON_TYPE,
                 _("Collections")),
            link(f"{base}/tileMatrixSets",
                 "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes", JSON_TYPE,
                 _("Jeux de matrices de tuiles")),
            link(f"{base}/map", "http://www.opengis.net/def/rel/ogc/1.0/map", maps.PNG,
                 _("Carte de toutes vos collections (PNG)")),
        ],
    }
    if wants(request, ("json", "html")) == "html":
        return render(request, "ogcapi/landing.html", {"document": document, "base": base})
    return json_response(document)


@api_view(["GET"])
def conformance(request):
    document = {"conformsTo": CONFORMANCE}
    if wants(request, ("json", "html")) == "html":
        return render(request, "ogcapi/conformance.html", {"document": document})
    return json_response(document)


@api_view(["GET"])
def api_definition(request):
    document = definition(base_url(request), [layer.name for layer in
                                              collection_layers(policy_of(request))],
                          maps.max_size())
    if wants(request, ("json", "html")) == "html":
        return render(request, "ogcapi/api.html", {"document": document,
                                                   "pretty": json.dumps(document, indent=2,
                                                                        ensure_ascii=False)})
    return json_response(document, OPENAPI)


# --- collections ---------------------------------------------------------------------------------
def collection_document(request, base, layer, source=None):
    policy = policy_of(request)
    url = f"{base}/collections/{layer.name}"
    if source is None:
        source = policy.source(layer, Permission.VIEW)
    summary = source.summary()
    box = summary.boxes.get(4326) or (layer.extent_wgs84.extent if layer.extent_wgs84 and
                                      not source.restricted else None)
    keywords = list(layer.keywords or [])
    document = {
        "id": layer.name,
        "title": layer.title,
        "description": layer.abstract or layer.title,
        "keywords": keywords,
        "itemType": "feature",
        "extent": {
            "spatial": {"bbox": [list(box)] if box else [[-180, -90, 180, 90]],
                        "crs": crs_module.CRS84},
            "temporal": {"interval": [[
                layer.temporal_start.isoformat() if layer.temporal_start else None,
                layer.temporal_end.isoformat() if layer.temporal_end else None]],
                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"},
        },
        "crs": crs_module.output_crs_list(),
        "storageCrs": crs_module.storage_crs(),
        "links": [
            link(url, "self", JSON_TYPE, layer.title),
            link(f"{url}?f=html", "alternate", HTML, layer.title),
            link(f"{url}/items", "items", GEOJSON, _("Objets (GeoJSON)")),
            link(f"{url}/items?f=html", "items", HTML, _("Objets (HTML)")),
            link(f"{url}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                 "application/schema+json", _("Propriétés interrogeables")),
            link(f"{url}/sortables", "http://www.opengis.net/def/rel/ogc/1.0/sortables",
                 "application/schema+json", _("Propriétés triables (sortby)")),
            link(f"{url}/tiles", "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                 JSON_TYPE, _("Tuiles vectorielles")),
            link(f"{url}/map", "http://www.opengis.net/def/rel/ogc/1.0/map", maps.PNG,
                 _("Carte (PNG)")),
            link(request.build_absolute_uri(f"/metadonnees/{layer.uuid}.xml"), "describedby",
                 "application/xml", _("Fiche de métadonnées ISO 19139")),
        ],
    }
    licence_url = {"etalab-2.0": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
                   "odbl-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
                   "cc-by-4.0": "https://creativecommons.org/licenses/by/4.0/"}.get(layer.licence)
    if licence_url:
        document["links"].append(link(licence_url, "license", HTML, layer.get_licence_display()))
    if layer.attribution:
        document["attribution"] = layer.attribution
    return document


@api_view(["GET"])
def collections(request):
    base = base_url(request)
    policy = policy_of(request)
    listed = []
    for layer in collection_layers(policy):
        source = policy.source(layer, Permission.VIEW)
        if published(source):
            listed.append(collection_document(request, base, layer, source))
    document = {
        "links": [link(f"{base}/collections", "self", JSON_TYPE, _("Collections")),
                  link(f"{base}/collections?f=html", "alternate", HTML, _("Collections"))],
        "collections": listed,
        "crs": crs_module.output_crs_list(),
    }
    if wants(request, ("json", "html")) == "html":
        return render(request, "ogcapi/collections.html", {"document": document, "base": base})
    return json_response(document)


@api_view(["GET"])
def collection(request, name):
    source = source_of(request, name)
    document = collection_document(request, base_url(request), source.layer, source)
    if wants(request, ("json", "html")) == "html":
        return render(request, "ogcapi/collection.html", {"document": document,
                                                          "base": base_url(request)})
    return json_response(document)


def queryable_columns(source):
    return {column.name: column for column in source.readable}


def schema_of(column):
    base = column.type.split("(")[0].strip()
    if base.startswith("timestamp"):
        base = "timestamp"
    kind, fmt = QUERYABLE_TYPES.get(base, ("string", None))
    schema = {"title": column.name, "type": kind}
    if fmt:
        schema["format"] = fmt
    return schema


@api_view(["GET"])
def queryables(request, name):
    source = source_of(request, name)
    url = f"{base_url(request)}/collections/{name}/queryables"
    properties = {"geom": {"title": _("Géométrie"), "format": "geometry-any",
                           "x-ogc-role": "primary-geometry"}}
    for column in source.readable:
        properties[column.name] = schema_of(column)
    document = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": url,
                "type": "object", "title": source.layer.title, "properties": properties,
                "additionalProperties": False}
    if wants(request, ("json", "html")) == "html":
        return render(request, "ogcapi/queryables.html", {"document": document, "name": name})
    return json_response(document, "application/schema+json")


def sortable_columns(source):
    return [column for column in source.readable
            if not column.type.startswith(UNSORTABLE) and not column.type.endswith("[]")]


@api_view(["GET"])
def sortables(request, name):
    """The properties sortby may name (OGC API – Records' sorting, as pygeoapi offers it on
    features): the readable columns of an ordered type."""
    source = source_of(request, name)
    url = f"{base_url(request)}/collections/{name}/sortables"
    document = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": url,
                "type": "object", "title": source.layer.title,
                "properties": {column.name: schema_of(column)
                               for column in sortable_columns(source)},
                "additionalProperties": False}
    return json_response(document, "application/schema+json")


def sort_keys(request, source):
    """sortby=+a,-b (a sign-less name is ascending; '+' may arrive decoded as a space) as
    ((column, ascending), …) over the sortables."""
    raw = request.GET.get("sortby")
    if raw is None or not raw.strip():
        return ()
    names = {column.name for column in sortable_columns(source)}
    keys, seen = [], set()
    for part in raw.split(","):
        part = part.strip()
        ascending = not part.startswith("-")
        name = part[1:] if part[:1] in "+-" and part else part
        if name not in names:
            raise bad_request(_("sortby : « %(name)s » n'est pas une propriété triable (voir "
                                "/sortables).") % {"name": name[:60]})
        if name in seen:
            raise bad_request(_("sortby : « %(name)s » est nommée deux fois.") % {"name": name})
        seen.add(name)
        keys.append((name, ascending))
    if len(keys) > MAX_SORT_KEYS:
        raise bad_request(_("sortby : au plus %(max)d propriétés.") % {"max": MAX_SORT_KEYS})
    return tuple(keys)


# --- items ---------------------------------------------------------------------------------------
def integer_parameter(request, name, default, low, high):
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"\+?\d{1,12}", raw.strip()):
        raise bad_request(_("« %(name)s » doit être un entier positif.") % {"name": name})
    value = int(raw)
    if value < low:
        raise bad_request(_("« %(name)s » doit valoir au moins %(low)d.") % {"name": name,
                                                                             "low": low})
    return min(value, high)


def bbox_area(request):
    raw = request.GET.get("bbox")
    uri, srid, latitude_first = crs_module.input_crs(request.GET.get("bbox-crs"), "bbox-crs")
    if raw is None:
        if request.GET.get("bbox-crs"):
            pass  # a bbox-crs alone is harmless
        return None
    parts = raw.split(",")
    if len(parts) not in (4, 6) or not all(NUMBER_RE.match(p.strip()) for p in parts):
        raise bad_request(_("bbox attend 4 (ou 6) nombres séparés par des virgules."))
    numbers = [float(p) for p in parts]
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if latitude_first:
        numbers = [numbers[1], numbers[0], numbers[3], numbers[2]]
    minx, miny, maxx, maxy = numbers
    if srid == 4326 and not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90
                             and -90 <= maxy <= 90):
        raise bad_request(_("bbox hors des limites de longitude et de latitude."))
    if miny > maxy or (minx > maxx and srid != 4326):
        raise bad_request(_("bbox : le minimum dépasse le maximum."))
    if minx > maxx:  # across the antimeridian: the two boxes are not supported, take the world
        minx, maxx = -180.0, 180.0
    try:
        return storage_area((minx, miny, maxx, maxy), srid)
    except ValueError:
        raise bad_request(_("bbox illisible dans ce système de coordonnées.")) from None


def property_conditions(request, source):
    columns = queryable_columns(source)
    conditions, equals = [], {}
    for key in request.GET:
        if key in ITEMS_PARAMETERS:
            continue
        if key not in columns:
            raise bad_request(_("Paramètre inconnu : « %(name)s ». Les propriétés "
                                "interrogeables sont données par /queryables.") % {"name": key})
        values = request.GET.getlist(key)
        equals[key] = values
        conditions.append(Compare(key, "=", values[0]) if len(values) == 1 else
                          In(key, tuple(values)))
    return conditions, equals


def filter_condition(request, source):
    text = request.GET.get("filter")
    if text is None:
        return None
    language = request.GET.get("filter-lang", "cql2-text")
    if language not in LANGUAGES:
        raise bad_request(_("filter-lang : cql2-text ou cql2-json."))
    _uri, srid, latitude_first = crs_module.input_crs(request.GET.get("filter-crs"),
                                                      "filter-crs")
    return compile_filter(text, language, queryable_columns(source), srid, latitude_first)


def page_links(request, url, limit, offset, after, last_fid, returned, matched):
    keep = [(key, value) for key, values in request.GET.lists() for value in values
            if key not in ("offset", "after", "limit", "f", "token", "access_token")]

    def href(fmt=None, **window):
        pairs = keep + ([("f", fmt)] if fmt else []) + [("limit", limit)] + list(window.items())
        return f"{url}?{urlencode(pairs)}"

    here = {"offset": offset} if offset else {}
    if after is not None:
        here["after"] = after
    links = [link(href(**here), "self", GEOJSON, _("Cette page")),
             link(href("html", **here), "alternate", HTML, _("Cette page en HTML")),
             link(url.rsplit("/items", 1)[0], "collection", JSON_TYPE, _("La collection"))]
    if returned == limit and (matched is None or offset + returned < matched):
        links.append(link(href(offset=offset + returned, after=last_fid), "next", GEOJSON,
                          _("Page suivante")))
    if offset > 0:
        links.append(link(href(offset=max(0, offset - limit)), "prev", GEOJSON,
                          _("Page précédente")))
    return links


def number_matched(source, query, filtered):
    """numberMatched: the layer's own count (kept exact by every change of its rows, read now:
    the source may be a cached decision) when the user gets every row and nothing filters them,
    a count(*) through the source otherwise."""
    if not filtered and not source.restricted:
        return Layer.objects.filter(pk=source.layer.pk).values_list(
            "feature_count", flat=True).first() or 0
    return source.count(query.unpaged())


@api_view(["GET", "POST"])
def items(request, name):
    if request.method == "POST":
        return create_item(request, name)
    source = source_of(request, name, cached=True)
    fmt = wants(request, ("json", "html"))
    limit = integer_parameter(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = integer_parameter(request, "offset", 0, 0, 10 ** 12)
    after_raw = request.GET.get("after")
    after = None
    if after_raw not in (None, ""):
        if not re.fullmatch(r"-?\d{1,18}", after_raw):
            raise bad_request(_("« after » doit être un identifiant d'objet."))
        after = int(after_raw)
    output_uri, srid = crs_module.output(request.GET.get("crs"))
    sort = sort_keys(request, source)
    area = bbox_area(request)
    conditions, equals = property_conditions(request, source)
    for extra in (temporal.condition(request.GET.get("datetime"), source),
                  filter_condition(request, source)):
        if extra is not None:
            conditions.append(extra)
    try:
        source.check_filter_values(equals)
    except Exception as error:  # noqa: BLE001 — InvalidFilterValue, UnknownColumn
        raise bad_request(_("Valeur refusée pour « %(name)s ».") % {
            "name": getattr(error, "attribute", getattr(error, "name", ""))}) from None
    where = All(*conditions) if conditions else None
    query = FeatureQuery(area=area, where=where, crs=srid, limit=limit,
                         offset=0 if after is not None else offset, after=after, sort=sort,
                         latitude_first=crs_module.latitude_first(output_uri))
    if after is not None and sort and not source.exists(FeatureQuery(where=Fids((after,)))):
        # A sorted page resumes after the row `after`: it must be one of the reader's rows.
        raise bad_request(_("« after » : objet inconnu, impossible de reprendre la lecture "
                            "triée après lui ; repartez de la première page."))
    filtered = area is not None or where is not None
    try:
        with transaction.atomic():  # a value PostgreSQL refuses: a 400 before anything is sent
            matched = number_matched(source, query, filtered)
    except DatabaseError:
        raise bad_request(_("Une valeur du filtre ne convient pas au type de sa propriété.")) \
            from None
    url = f"{base_url(request)}/collections/{name}/items"
    if fmt == "html":
        features = source.features(query)
        last = features[-1]["id"] if features else None
        return render(request, "ogcapi/items.html", {
            "layer": source.layer, "features": features, "matched": matched,
            "links": page_links(request, url, limit, offset, after, last, len(features),
                                matched),
            "names": source.readable_names()})
    head = {"numberMatched": matched,
            "timeStamp": datetime.utcnow().replace(microsecond=0).isoformat() + "Z"}

    def tail(returned, last_fid):
        return {"numberReturned": returned,
                "links": page_links(request, url, limit, offset, after, last_fid, returned,
                                    matched)}

    stream = collection_stream(source.geojson_batches(query, encoded=True), head, tail)
    response = StreamingHttpResponse(stream, content_type=GEOJSON)
    response["Content-Crs"] = crs_module.content_crs_header(output_uri)
    return response


FEATURE_START = b'{"type":"Feature","id":'


def collection_stream(batches, head, tail):
    """A FeatureCollection streamed as PostgreSQL encodes the features (UTF-8 bytes, batch by
    batch): head's members first, then the features, then tail(numberReturned, last id)'s
    members (the next link needs the last id, known once the page is written; JSON members
    have no order). Each feature text begins with {"type":"Feature","id":<fid>,."""
    opening = json.dumps({"type": "FeatureCollection", **head}, ensure_ascii=False,
                         separators=(",", ":"))
    yield (opening[:-1] + ',"features":[').encode()
    returned, last = 0, None
    for batch in batches:
        chunk = b",".join(batch)
        yield chunk if not returned else b"," + chunk
        returned += len(batch)
        final = batch[-1]
        last = int(final[len(FEATURE_START):final.index(b",", len(FEATURE_START))])
    closing = json.dumps(tail(returned, last), ensure_ascii=False, separators=(",", ":"))
    yield ("]," + closing[1:]).encode()


def etag_of(feature):
    digest = hashlib.sha256(json.dumps(feature, sort_keys=True, ensure_ascii=False)
                            .encode()).hexdigest()[:32]
    return f'"{digest}"'


def fid_of(raw):
    if not re.fullmatch(r"\d{1,18}", raw):
        raise not_found(_("Objet inconnu : %(id)s.") % {"id": raw[:40]})
    return int(raw)


@api_view(["GET", "PUT", "PATCH", "DELETE"])
def item(request, name, fid):
    if request.method in ("PUT", "PATCH", "DELETE"):
        return change_item(request, name, fid)
    source = source_of(request, name)
    output_uri, srid = crs_module.output(request.GET.get("crs"))
    feature = source.feature(fid_of(fid), crs=srid,
                             latitude_first=crs_module.latitude_first(output_uri))
    if feature is None:
        raise not_found(_("Objet inconnu : %(id)s.") % {"id": fid})
    url = f"{base_url(request)}/collections/{name}/items/{fid}"
    etag = etag_of(source.feature(int(fid), crs=4326))
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
        response["ETag"] = etag
        return response
    feature["links"] = [
        link(url, "self", GEOJSON, _("Cet objet")),
        link(f"{url}?f=html", "alternate", HTML, _("Cet objet en HTML")),
        link(f"{base_url(request)}/collections/{name}", "collection", JSON_TYPE,
             source.layer.title),
    ]
    if wants(request, ("json", "html")) == "html":
        return render(request, "ogcapi/item.html", {"layer": source.layer, "feature": feature})
    return json_response(feature, GEOJSON, headers={
        "ETag": etag, "Content-Crs": crs_module.content_crs_header(output_uri)})


# --- OGC API – Tiles ----------------------------------------------------------------------------
@api_view(["GET"])
def tile_matrix_sets(request):
    return tiles.json_answer(tiles.tile_matrix_sets(base_url(request)))


@api_view(["GET"])
def tile_matrix_set(request, tms):
    return tiles.json_answer(tiles.tile_matrix_set(base_url(request), tiles.known(tms)))


@api_view(["GET"])
def collection_tilesets(request, name):
    return tiles.json_answer(tiles.tilesets(base_url(request), source_of(request, name).layer))


@api_view(["GET"])
def collection_tileset(request, name, tms):
    tiles.known(tms)
    return tiles.json_answer(tiles.tileset(base_url(request), source_of(request, name).layer,
                                           tms))


@api_view(["GET"])
def collection_tile(request, name, tms, matrix, row, col):
    return tiles.tile(request, name, matrix, row, col, tiles.known(tms))


# --- OGC API – Maps -----------------------------------------------------------------------------
@api_view(["GET"])
def collection_map(request, name, style=None):
    """The collection drawn as WMS GetMap draws it (ogcapi.maps), in its default style or the
    named one."""
    source = source_of(request, name)
    return maps.render(request, [source], [style or ""])


@api_view(["GET"])
def dataset_map(request):
    """The collections given by ?collections= (first at the bottom), or every collection the
    user may view (areas, then lines, then points), drawn as WMS GetMap draws them."""
    names = maps.collection_names(request.GET)
    if names is None:
        policy = policy_of(request)
        layers = sorted((layer for layer in collection_layers(policy)
                         if layer.extent is not None), key=maps.drawing_order)
        sources = [source for source in (policy.source(layer, Permission.VIEW)
                                         for layer in layers[:maps.MAX_COLLECTIONS])
                   if published(source)]
        if not sources:
            raise not_found(_("Aucune collection à dessiner."))
    else:
        sources = [source_of(request, name) for name in names]
    return maps.render(request, sources, [""] * len(sources), dataset=True)


# --- Part 4: create, replace, update, delete ------------------------------------------------------
def read_feature(request):
    content_type = (request.content_type or "").lower()
    if content_type not in (GEOJSON, JSON_TYPE):
        raise ApiError(415, "UnsupportedMediaType",
                       _("Envoyez un objet GeoJSON (Content-Type: application/geo+json)."))
    try:
        document = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise bad_request(_("Corps JSON illisible.")) from None
    if not isinstance(document, dict) or document.get("type") != "Feature":
        raise bad_request(_("Le corps doit être un objet GeoJSON de type « Feature »."))
    properties = document.get("properties") or {}
    if not isinstance(properties, dict):
        raise bad_request(_("« properties » doit être un objet JSON."))
    return document, properties


def content_srid(request):
    uri, srid, latitude_first = crs_module.input_crs(
        request.headers.get("Content-Crs", "").strip("<>") or None, "Content-Crs")
    if latitude_first:
        raise bad_request(_("Content-Crs : EPSG:4326 (latitude d'abord) n'est pas accepté en "
                            "écriture ; envoyez du CRS84."))
    return srid


def checked(source, properties):
    values = {}
    for key, value in properties.items():
        if isinstance(value, (dict, list)):
            raise bad_request(_("« %(name)s » : valeur simple attendue.") % {"name": key})
        values[key] = None if value is None else (
            ("true" if value else "false") if isinstance(value, bool) else str(value))
    try:
        return source.checked_values(values)
    except UnknownColumn as error:
        raise bad_request(_("Propriété inconnue : « %(name)s ».") % {"name": error.name}) \
            from None
    except ReadOnlyColumn as error:
        raise ApiError(403, "Forbidden", _("Propriété en lecture seule : « %(name)s ».")
                       % {"name": error.name}) from None
    except InvalidValue as error:
        raise bad_request(_("Valeur refusée pour « %(name)s » (%(type)s).")
                          % {"name": error.name, "type": error.type}) from None


def geometry_value(document, srid):
    geometry = document.get("geometry")
    if geometry is None:
        return None
    try:
        return geometry_from_geojson(json.dumps(geometry), srid)
    except InvalidGeometry as error:
        raise bad_request(_("Géométrie refusée : %(detail)s.")
                          % {"detail": error.detail or error.kind}) from None


def publish_edit(source, changes, user, box_fids):
    """As WFS-T does: the layer's metadata refreshed, one EDIT publication grouping the history
    rows, and the changed area announced (tile caches)."""
    layer = source.layer
    box = source.extent_of(box_fids) if box_fids else None
    refresh_layer_metadata(layer)
    latest = layer.publications.order_by("-version").first()
    counts = {action: sum(1 for change in changes if change.action == action)
              for action in FeatureChange.Action.values}
    publication = Publication.objects.create(
        layer=layer, version=(latest.version if latest else 0) + 1,
        mode=Publication.Mode.EDIT,
        published_by=user if user is not None and user.is_authenticated else None,
        source_name="OGC API", feature_count=layer.feature_count,
        report={"source": "ogcapi", **counts})
    FeatureChange.objects.filter(pk__in=[c.pk for c in changes]).update(publication=publication)
    return box


def refused(error):
    """The feature source's refusal of a write (rights: layers.access) as a 403, nothing saved."""
    if isinstance(error, OperationDenied) and error.reason:
        message = error.reason
    elif isinstance(error, OperationDenied):
        message = {
            "insert": _("Vous n'avez pas le droit d'ajouter des objets à cette collection : rien "
                        "n'a été enregistré."),
            "update_attributes": _("Vous n'avez pas le droit de modifier les propriétés de ces "
                                   "objets : rien n'a été enregistré."),
            "update_geometry": _("Vous n'avez pas le droit de modifier la géométrie de ces "
                                 "objets : rien n'a été enregistré."),
            "delete": _("Vous n'avez pas le droit de supprimer ces objets : rien n'a été "
                        "enregistré."),
        }.get(error.operation, _("Opération refusée : rien n'a été enregistré."))
    else:
        message = _("Cet objet sortirait du périmètre que vous pouvez modifier : rien n'a été "
                    "enregistré.")
    return ApiError(403, "Forbidden", message)


def outside(source, fids):
    if not source.inside(fids):
        raise ApiError(403, "Forbidden", _("Cet objet sortirait du périmètre que vous pouvez "
                                           "modifier : rien n'a été enregistré."))


def create_item(request, name):
    source = source_of(request, name, Permission.EDIT)
    document, properties = read_feature(request)
    srid = content_srid(request)
    try:
        with transaction.atomic():
            values = checked(source, properties)
            geometry = geometry_value(document, srid)
            fid = source.insert(values, geometry)
            outside(source, [fid])
            changes = source.record(FeatureChange.Action.INSERT, [fid],
                                    after=source.snapshot([fid]), source="ogcapi")
            box = publish_edit(source, changes, request.user, [fid])
    except (OperationDenied, OutsideWriteFilter) as error:
        raise refused(error) from None
    except DatabaseError as error:
        raise bad_request(_("Refusé par la base de données, rien n'a été enregistré : "
                            "%(error)s") % {"error": str(error).splitlines()[0][:200]}) from None
    layer_data_changed.send(sender=Layer, layer=source.layer, bbox=box)
    location = f"{base_url(request)}/collections/{name}/items/{fid}"
    response = HttpResponse(status=201)
    response["Location"] = location
    response["ETag"] = etag_of(source.feature(fid, crs=4326))
    return response


def change_item(request, name, raw_fid):
    source = source_of(request, name, Permission.EDIT)
    fid = fid_of(raw_fid)
    if request.method != "DELETE":
        document, properties = read_feature(request)
        srid = content_srid(request)
    try:
        with transaction.atomic():
            found = source.lock([fid])
            current = source.feature(fid, crs=4326)
            if fid not in found or current is None:
                raise not_found(_("Objet inconnu : %(id)s.") % {"id": fid})
            if not found[fid]:
                raise ApiError(403, "Forbidden", _("Cet objet est hors du périmètre que vous "
                                                   "pouvez modifier."))
            expected = request.headers.get("If-Match")
            if expected and expected != "*" and etag_of(current) not in [
                    tag.strip() for tag in expected.split(",")]:
                raise ApiError(412, "PreconditionFailed",
                               _("L'objet a changé depuis votre lecture (ETag différent) : "
                                 "relisez-le avant de le modifier."))
            before = source.snapshot([fid])
            if request.method == "DELETE":
                box = source.extent_of([fid])
                source.delete([fid])
                changes = source.record(FeatureChange.Action.DELETE, [fid], before,
                                        source="ogcapi")
                publish_edit(source, changes, request.user, [])
            else:
                if request.method == "PUT":  # replace: absent properties become null
                    properties = {**{c.name: None for c in source.writable}, **properties}
                values = checked(source, properties)
                set_geometry = request.method == "PUT" or "geometry" in document
                geometry = geometry_value(document, srid) if set_geometry else None
                source.update([fid], values, geometry=geometry, set_geometry=set_geometry)
                outside(source, [fid])
                changes = source.record(FeatureChange.Action.UPDATE, [fid], before,
                                        source.snapshot([fid]), source="ogcapi")
                box = publish_edit(source, changes, request.user, [fid])
    except (OperationDenied, OutsideWriteFilter) as error:
        raise refused(error) from None
    except DatabaseError as error:
        raise bad_request(_("Refusé par la base de données, rien n'a été enregistré : "
                            "%(error)s") % {"error": str(error).splitlines()[0][:200]}) from None
    layer_data_changed.send(sender=Layer, layer=source.layer, bbox=box)
    if request.method == "DELETE":
        return HttpResponse(status=204)
    response = HttpResponse(status=204)
    response["ETag"] = etag_of(source.feature(fid, crs=4326))
    return response
