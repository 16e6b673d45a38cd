"""The WFS 2.0 read side: django-gisserver's WFSView over the catalogue, per user.

gisserver parses KVP and XML requests, FES 2.0 filters, SORTBY, paging and resource ids, and
streams GML 3.2 / GeoJSON / CSV encoded by PostGIS. C@p Géo adds:
- the feature types of the layers the user may download (AccessPolicy, DOWNLOAD), each
  queryset filtered by the Grant's rows and ordered by fid (features.LayerFeatureType);
- a cap on COUNT (CAPGEO_WFS_MAX_COUNT, advertised as CountDefault): a larger COUNT is refused
  with InvalidParameterValue rather than silently clamped, because QGIS stops paging at the
  first page shorter than what it asked;
- the Transaction operation in the capabilities when the user may edit a layer (the POST itself
  is handled by wms.wfs.transaction);
- French OGC exception reports, and database errors caused by input answered as 400.
"""
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from gisserver.exceptions import OWSException
from gisserver.features import ServiceDescription
from gisserver.operations import wfs20
from gisserver.operations.base import Parameter, WFSOperation
from gisserver.parsers.ast import tag_registry
from gisserver.parsers.gml.geometries import GEOSGMLGeometry
from gisserver.parsers.xml import xmlns
from gisserver.views import WFSView

from layers.access import AccessPolicy
from layers.models import Layer, Permission

from .exceptions import WFSError, from_gisserver
from .features import LayerFeatureType
from .renderers import SQLGeoJsonRenderer, SQLGML32Renderer, counted

logger = logging.getLogger(__name__)

XML_NAMESPACE = "https://capgeo.cap-atlantique.fr/wfs"
XML_PREFIX = "capgeo"


# gisserver reads GML 3.2 filter operands (and a GML 2/3.1.1 Polygon); OWSLib, GDAL and older
# QGIS send GML 3.1.1 ones (namespace http://www.opengis.net/gml): GDAL/OGR parses them as well.
for _tag in ("Envelope", "Box", "Point", "LineString", "LinearRing", "MultiPoint",
             "MultiLineString", "MultiPolygon", "MultiSurface", "MultiCurve", "Surface", "Curve"):
    tag_registry.register(_tag, xmlns.gml21)(GEOSGMLGeometry)


def max_count():
    return int(getattr(settings, "CAPGEO_WFS_MAX_COUNT", 100_000))


class GetCapabilities(wfs20.GetCapabilities):
    """gisserver's capabilities, with CountDefault and Transaction when the user may edit."""

    def _get_xml_template_name(self, ows_request):
        return "wfs/capabilities_2_0_0.xml"

    def get_context_data(self):
        context = super().get_context_data()
        context["count_default"] = max_count()
        return context


class TransactionOperation(WFSOperation):
    """Advertised in the capabilities; the POSTed document is executed by wms.wfs.transaction."""

    def get_parameters(self):
        return super().get_parameters() + [
            Parameter("inputFormat", allowed_values=["application/gml+xml; version=3.2",
                                                     "text/xml; subtype=gml/3.1.1"]),
            Parameter("releaseAction", allowed_values=["ALL"]),
        ]

    def process_request(self, ows_request):  # pragma: no cover - KVP never reaches it
        raise WFSError("OperationNotSupported", "request",
                       "Transaction s'envoie en POST (document XML).")


SQL_RENDERERS = {"DBGeoJsonRenderer": SQLGeoJsonRenderer, "DBGML32Renderer": SQLGML32Renderer}


class GetFeature(wfs20.GetFeature):
    """gisserver's GetFeature with whole features encoded by PostgreSQL (wms.wfs.renderers)."""

    def get_output_formats(self):
        formats = super().get_output_formats()
        for output_format in formats:
            replacement = SQL_RENDERERS.get(output_format.renderer_class.__name__)
            if replacement is not None:
                output_format.renderer_class = replacement
        return formats

    def get_results(self):
        return counted(super().get_results(), keyset=True)


class GetPropertyValue(wfs20.GetPropertyValue):
    def get_results(self):
        return counted(super().get_results())


READ_OPERATIONS = {
    "GetCapabilities": GetCapabilities,
    "DescribeFeatureType": wfs20.DescribeFeatureType,
    "GetFeature": GetFeature,
    "GetPropertyValue": GetPropertyValue,
    "ListStoredQueries": wfs20.ListStoredQueries,
    "DescribeStoredQueries": wfs20.DescribeStoredQueries,
}


class CapGeoWFSView(WFSView):
    xml_namespace = XML_NAMESPACE
    xml_namespace_aliases = {XML_PREFIX: XML_NAMESPACE}
    use_html_templates = False
    accept_operations = {"WFS": READ_OPERATIONS}

    @property
    def max_page_size(self):
        return max_count()

    @cached_property
    def policy(self):
        return AccessPolicy.for_user(self.request.user)

    @cached_property
    def may_edit(self):
        return self.policy.layers(Permission.EDIT).filter(kind=Layer.Kind.VECTOR).exists()

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        operations = dict(READ_OPERATIONS)
        if self.may_edit:
            operations["Transaction"] = TransactionOperation
        # Per request: the class attribute is shared by every request.
        self.accept_operations = {"WFS": operations}
        self.wfs_service_constraints = {**WFSView.wfs_service_constraints,
                                        "ImplementsTransactionalWFS": self.may_edit}

    def get_service_description(self, service=None):
        return ServiceDescription(
            title="C@p Géo — WFS",
            abstract=_("Couches du catalogue de C@p Géo, plateforme SIG communautaire de "
                       "%(name)s.") % {"name": settings.CAPGEO_INTERCOMMUNALITY_NAME},
            keywords=["WFS", "C@p Géo", settings.CAPGEO_INTERCOMMUNALITY_NAME],
            provider_name=settings.CAPGEO_INTERCOMMUNALITY_NAME,
        )

    @cached_property
    def feature_types(self):
        types = []
        layers = (self.policy.layers(Permission.DOWNLOAD).filter(kind=Layer.Kind.VECTOR)
                  .exclude(attributes=None).select_related("theme").order_by("name"))
        for layer in layers:
            if not layer.geometry_type and not layer.feature_count and not layer.attributes:
                continue  # never published: no table yet
            types.append(LayerFeatureType(self.policy.source(layer, Permission.DOWNLOAD)))
        return types

    def get_feature_types(self):
        return self.feature_types

    def call_operation(self, wfs_operation_cls):
        count = getattr(self.ows_request, "count", None)
        if count is not None and count > max_count():
            raise WFSError(
                "InvalidParameterValue", "count",
                _("COUNT=%(count)d dépasse le maximum de %(max)d objets par page : demandez des "
                  "pages plus petites (STARTINDEX/COUNT).") % {"count": count, "max": max_count()})
        if count is not None and count < 0:
            raise WFSError("InvalidParameterValue", "count", _("COUNT doit être positif."))
        return super().call_operation(wfs_operation_cls)

    #: Version of the exception reports (WFS 1.1.0 answers with OWS 1.0.0 ones).
    report_version = "2.0.0"

    def handle_exception(self, exc):
        error = self.wfs_error(exc)
        return error.response(version=self.report_version) if error is not None else None

    def wfs_error(self, exc):
        """The WFSError to answer for an exception, or None (a real server error)."""
        if isinstance(exc, WFSError):
            return exc
        if isinstance(exc, OWSException):
            return from_gisserver(exc)
        if isinstance(exc, DjangoPermissionDenied):
            return WFSError("PermissionDenied", "typeNames", _("Accès refusé."))
        if isinstance(exc, DatabaseError):
            # A filter value the column's type refuses, an impossible projection, …: the query
            # comes from the client's input (gisserver validates names and builds it with
            # parameters), so this is the client's error, not the server's.
            logger.info("WFS query refused by PostgreSQL: %s", exc)
            return WFSError("InvalidParameterValue", "filter",
                            _("Requête refusée par la base de données : %(error)s")
                            % {"error": str(exc).splitlines()[0] if str(exc)
                               else exc.__class__.__name__})
        if isinstance(exc, (ValueError, TypeError, LookupError, NotImplementedError)):
            logger.warning("WFS request refused: %r", exc, exc_info=True)
            return WFSError("InvalidParameterValue", "request",
                            _("Requête invalide : %(error)s") % {"error": exc})
        return None
