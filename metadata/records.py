"""The CSW records table (metadata.models.CatalogueRecord), kept equal to the catalogue.

Before answering, the CSW view calls refresh(): when the catalogue version counter (bumped by
triggers in the transaction of any change to layers, access rules, styles or themes, see
maps.decisions) or the platform address differs from those the records were built from, the
table is rebuilt in one transaction, under an advisory lock so that concurrent workers do not
build it twice. A layer unpublished or withdrawn from the public is gone from the next answer.

Only the layers the anonymous public may view are recorded: the access policy is asked for an
anonymous visitor, never for the requesting user, so a restricted layer is never listed. Remote
layers belong to their own publishers and are left out, as in the open-data portal.
"""
import importlib.metadata
import importlib.util
import sys

from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.utils import timezone
from lxml import etree

from layers.access import AccessPolicy
from layers.models import Layer, Licence, Permission

from . import iso19139
from .models import CatalogueRecord, CatalogueState

LOCK_KEY = 0x63737772  # "cswr": one builder at a time


def load_pycsw():
    """Import pycsw without running its package __init__, which only asks pkg_resources for its
    own version and fails because pycsw 2.6.2 declares OWSLib<0.29 while the platform runs a
    later OWSLib (the parts of OWSLib it uses here, the ISO parser and helpers, are unchanged;
    metadata/tests check them). Idempotent."""
    if "pycsw" not in sys.modules:
        spec = importlib.util.find_spec("pycsw")
        module = importlib.util.module_from_spec(spec)
        module.__version__ = importlib.metadata.version("pycsw")
        sys.modules["pycsw"] = module
    import pycsw.server  # noqa: F401 — loads the package's modules

    return sys.modules["pycsw"]


def catalogue_version():
    """(version, data version) of the catalogue: records show the layers' extents and dates."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT version, data_version FROM wms_catalogue_version WHERE id = 1")
        row = cursor.fetchone()
    return tuple(row) if row else None


def public_layers():
    return (AccessPolicy.for_user(AnonymousUser()).layers(Permission.VIEW)
            .filter(kind=Layer.Kind.VECTOR)
            .select_related("theme", "owner_commune").order_by("name"))


def _dates(layer):
    revised = layer.data_updated_at or layer.updated_at
    return layer.created_at.date().isoformat(), revised.date().isoformat()


def build_record(layer, base_url, policy):
    """The CatalogueRecord of a layer: its ISO 19139 record in ``xml`` and, in the other
    columns, the same catalogue values pycsw queries on (titles, keywords, dates, box…)."""
    load_pycsw()
    from pycsw.core import util

    permissions = policy.permissions(layer)
    element = iso19139.record(layer, base_url, permissions, public=True)
    created, revised = _dates(layer)
    keywords = list(layer.keywords or [])
    if layer.inspire_theme_code:
        keywords.insert(0, iso19139.inspire_label(layer.inspire_theme_code))
    if layer.theme_id and layer.theme.name not in keywords:
        keywords.append(layer.theme.name)
    box = None
    if layer.extent_wgs84 is not None:
        box = util.bbox2wktpolygon(",".join(f"{v:.6f}" for v in layer.extent_wgs84.extent))
    links = "^".join(",".join(part.replace(",", " ") for part in (name, description, protocol, url))
                     for url, protocol, name, description, _function
                     in iso19139.distributions(base_url, layer, permissions))
    licence = iso19139.LICENCES[Licence(layer.licence)][0]
    return CatalogueRecord(
        identifier=str(layer.uuid), layer_name=layer.name,
        typename="gmd:MD_Metadata", schema=iso19139.GMD, mdsource="local",
        insert_date=timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        xml=etree.tostring(element, encoding="unicode"), anytext=util.get_anytext(element),
        language="fre", resourcelanguage="fre", type="dataset",
        title=layer.title, abstract=layer.abstract or layer.title,
        keywords=",".join(keywords), keywordstype="theme",
        topicategory=layer.topic_category_code or None,
        organization=iso19139.organisation(layer), publisher=iso19139.organisation(layer),
        creator=layer.attribution or None,
        date=layer.updated_at.replace(microsecond=0).isoformat(),
        date_modified=layer.updated_at.replace(microsecond=0).isoformat(),
        date_creation=created, date_revision=revised,
        time_begin=layer.temporal_start.isoformat() if layer.temporal_start else None,
        time_end=layer.temporal_end.isoformat() if layer.temporal_end else None,
        crs=f"urn:ogc:def:crs:EPSG::{iso19139.SERVED_CRS[0]}",
        denominator=str(layer.scale_denominator) if layer.scale_denominator else None,
        wkt_geometry=box, accessconstraints="otherRestrictions",
        otherconstraints=iso19139.NO_LIMITATIONS[0], conditionapplyingtoaccessanduse=licence,
        lineage=layer.lineage or None, degree={"conformant": "true", "notConformant": "false"}
        .get(layer.conformity), specificationtitle=iso19139.INSPIRE_REGULATION[0],
        specificationdate=iso19139.INSPIRE_REGULATION[1], specificationdatetype="publication",
        responsiblepartyrole="pointOfContact", format="GeoJSON", links=links,
        source=iso19139.resource_identifier(base_url, layer),
    )


def is_fresh(version, base_url):
    state = CatalogueState.objects.filter(pk=1).first()
    return (state is not None and version is not None
            and (state.catalogue_version, state.data_version) == version
            and state.base_url == base_url)


def refresh(base_url):
    """Rebuild the records if the catalogue or the address changed since they were built."""
    version = catalogue_version()  # read before the layers: a later change triggers a rebuild
    if is_fresh(version, base_url):
        return False
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        if is_fresh(version, base_url):  # built by another worker meanwhile
            return False
        policy = AccessPolicy.for_user(AnonymousUser())
        rows = [build_record(layer, base_url, policy) for layer in public_layers()]
        CatalogueRecord.objects.all().delete()
        CatalogueRecord.objects.bulk_create(rows)
        CatalogueState.objects.update_or_create(
            pk=1, defaults={"catalogue_version": version[0] if version else None,
                            "data_version": version[1] if version else None,
                            "base_url": base_url})
    return True
