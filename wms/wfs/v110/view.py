"""The WFS 1.1.0 read side: the 2.0 view (same feature types, same access policy, same SQL
encoding) fed with 1.1.0 requests rewritten as 2.0 ones (translate.py), answering 1.1.0
documents: capabilities (OWS 1.0.0), GML 3.1.1 schema and features, OWS 1.0.0 exceptions."""
from django.utils.functional import cached_property
from gisserver.exceptions import ExternalParsingError
from gisserver.operations import wfs20
from gisserver.operations.base import OutputFormat, Parameter
from gisserver.parsers.ows import KVPRequest, resolve_kvp_parser_class, resolve_xml_parser_class
from gisserver.parsers.xml import parse_xml_from_string, split_ns

from layers.models import Layer, Permission

from .. import view as v200
from ..exceptions import WFSError
from ..renderers import SQLGeoJsonRenderer
from .output import GML311SchemaRenderer, SQLGML311Renderer

GML311 = "text/xml; subtype=gml/3.1.1"


class GetCapabilities(v200.GetCapabilities):
    def _get_xml_template_name(self, ows_request):
        return "wfs/capabilities_1_1_0.xml"

    def get_output_formats(self):
        return [OutputFormat("text/xml", renderer_class=None)]

    def get_parameters(self):
        return [Parameter("AcceptVersions", allowed_values=["1.1.0", "2.0.0"]),
                Parameter("AcceptFormats", allowed_values=["text/xml"])]

    def validate_request(self, ows_request):
        pass  # ACCEPTVERSIONS was negotiated before (wms.wfs.v110.requested)

    def get_context_data(self):
        context = super().get_context_data()
        context["editable"] = self.view.editable_names
        context["output_formats"] = [GML311, "application/json"]
        return context


class DescribeFeatureType(wfs20.DescribeFeatureType):
    def get_output_formats(self):
        return [
            OutputFormat("text/xml", subtype="gml/3.1.1", renderer_class=GML311SchemaRenderer),
            OutputFormat("XMLSCHEMA", renderer_class=GML311SchemaRenderer, in_capabilities=False),
        ]

    def get_parameters(self):
        return [Parameter("outputFormat", allowed_values=[GML311])]


class GetFeature(v200.GetFeature):
    def get_output_formats(self):
        return [
            OutputFormat("text/xml", subtype="gml/3.1.1", renderer_class=SQLGML311Renderer,
                         title="GML 3.1.1"),
            OutputFormat("GML3", renderer_class=SQLGML311Renderer, in_capabilities=False),
            OutputFormat("application/json", subtype="geojson", charset="utf-8",
                         renderer_class=SQLGeoJsonRenderer, title="GeoJSON"),
            OutputFormat("geojson", renderer_class=SQLGeoJsonRenderer, in_capabilities=False),
        ]

    def get_parameters(self):
        return [Parameter("resultType", allowed_values=["results", "hits"]),
                Parameter("outputFormat", allowed_values=[GML311, "application/json"])]

    def set_pagination_links(self, collection):
        pass  # no next/previous links in 1.1.0 collections


class TransactionOperation(v200.TransactionOperation):
    def get_parameters(self):
        return [Parameter("inputFormat", allowed_values=[GML311]),
                Parameter("releaseAction", allowed_values=["ALL"])]


# 2.0.0 parameter names in gisserver's locators -> the 1.1.0 names the client sent.
LOCATORS_110 = {"typeNames": "typeName", "resourceId": "featureId", "count": "maxFeatures"}

OPERATIONS = {"GetCapabilities": GetCapabilities, "DescribeFeatureType": DescribeFeatureType,
              "GetFeature": GetFeature}


class WFS110View(v200.CapGeoWFSView):
    version = "1.1.0"
    accept_versions = ("1.1.0",)
    report_version = "1.1.0"
    params = None    # a KVP request in 2.0.0 words (GET)
    document = None  # a 2.0.0 XML document (POST)

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        operations = dict(OPERATIONS)
        if self.may_edit:
            operations["Transaction"] = TransactionOperation
        self.accept_operations = {"WFS": operations}

    @cached_property
    def editable_names(self):
        return set(self.policy.layers(Permission.EDIT).filter(kind=Layer.Kind.VECTOR)
                   .values_list("name", flat=True))

    def run(self, request_cls_for, operation_name, parse):
        operation = self.get_operation_class("WFS", operation_name)
        self.ows_request = parse(operation.parser_class or request_cls_for())
        return self.call_operation(operation)

    def get(self, request, *args, **kwargs):
        """KVP already rewritten in 2.0.0 words (self.params, set by wms.wfs.v110.handle)."""
        kvp = KVPRequest(self.params, ns_aliases=self.get_xml_namespace_aliases())
        operation = kvp.get_str("request")
        return self.run(lambda: resolve_kvp_parser_class(kvp), operation,
                        lambda cls: cls.from_kvp_request(kvp))

    def post(self, request, *args, **kwargs):
        """XML already rewritten as a 2.0.0 document (self.document)."""
        try:
            root = parse_xml_from_string(self.document,
                                         extra_ns_aliases=self.get_xml_namespace_aliases())
        except ExternalParsingError as error:
            raise WFSError("OperationParsingFailed", "request", f"XML illisible : {error}") from None
        return self.run(lambda: resolve_xml_parser_class(root), split_ns(root.tag)[1],
                        lambda cls: cls.from_xml(root))

    def wfs_error(self, exc):
        error = super().wfs_error(exc)
        if error is not None and error.locator in LOCATORS_110:
            error.locator = LOCATORS_110[error.locator]
        if error is not None and error.locator == "maxFeatures":
            error.text = error.text.replace("COUNT", "MAXFEATURES").replace(
                "(STARTINDEX/COUNT)", "(STARTINDEX/MAXFEATURES)")
        return error
