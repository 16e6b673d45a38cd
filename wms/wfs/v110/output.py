"""WFS 1.1.0 outputs: GML 3.1.1 feature collections encoded by PostgreSQL, and their schema.

The features are the 2.0 path's (wms.wfs.renderers.SQLGML32Renderer: ST_AsGML(3, …) writes
GML 3.1.1 geometries; attributes escaped by xmlforest), wrapped in a 1.1.0
<wfs:FeatureCollection numberOfFeatures="…"> with one <gml:featureMember> each, in the GML
namespace http://www.opengis.net/gml. Lines are written as gml:LineString (ST_AsGML option 4),
what GeoServer's GML 3 output and older clients use, rather than gml:Curve.
"""
from io import StringIO
from urllib.parse import urlencode

from django.utils.translation import gettext as _
from gisserver.output import XmlSchemaRenderer
from gisserver.output.utils import attr_escape
from gisserver.parsers.wfs20 import ResultType

from ..exceptions import WFSError
from ..renderers import SQLGML32Renderer
from ..xml import GML31, GML32, WFS11

XSI = "http://www.w3.org/2001/XMLSchema-instance"
GML311_SCHEMA = "http://schemas.opengis.net/gml/3.1.1/base/feature.xsd"
CONTENT_TYPE = "text/xml; subtype=gml/3.1.1; charset=utf-8"


def describe_url(view, feature_types):
    prefixes = view.get_xml_namespaces_to_prefixes()
    names = ",".join(f"{prefixes[t.xml_namespace]}:{t.name}" for t in feature_types)
    return f"{view.server_url}?" + urlencode({"SERVICE": "WFS", "VERSION": "1.1.0",
                                              "REQUEST": "DescribeFeatureType",
                                              "TYPENAME": names})


class SQLGML311Renderer(SQLGML32Renderer):
    content_type = CONTENT_TYPE
    content_disposition = 'inline; filename="{typenames} {page} {date}.xml"'
    xml_namespaces = {WFS11: "wfs", GML31: "gml", XSI: "xsi"}
    extra_gml_options = 4

    def render_xsi_schema_location(self):
        locations = []
        by_namespace = {}
        for feature_type in self.feature_types:
            by_namespace.setdefault(feature_type.xml_namespace, []).append(feature_type)
        for namespace, feature_types in by_namespace.items():
            locations += [namespace, describe_url(self.operation.view, feature_types)]
        locations += [WFS11, "http://schemas.opengis.net/wfs/1.1.0/wfs.xsd"]
        return " ".join(locations)

    def render_stream(self):
        collection = self.collection
        self.output = output = StringIO()
        self._write = output.write
        hits = self.operation.ows_request.resultType == ResultType.hits
        number = collection.number_matched if hits else collection.number_returned
        self._write(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<wfs:FeatureCollection {self.render_xmlns_attributes()}"
            f' xsi:schemaLocation="{attr_escape(self.render_xsi_schema_location())}"'
            f' timeStamp="{collection.timestamp}" numberOfFeatures="{int(number or 0)}">\n'
        )
        if not hits and number:
            for sub_collection in collection.results:
                projection = sub_collection.projection
                self.start_collection(sub_collection)
                for instance in self.read_features(sub_collection):
                    self._write("<gml:featureMember>\n")
                    self.write_feature(projection, instance)
                    self._write("</gml:featureMember>\n")
                    if output.tell() > self.chunk_size:
                        chunk = output.getvalue()
                        output.seek(0)
                        output.truncate(0)
                        yield chunk
        self._write("</wfs:FeatureCollection>\n")
        yield output.getvalue()

    def write_feature(self, projection, instance, extra_xmlns=""):
        if not isinstance(instance, str):
            # Only flat catalogue layers are served; gisserver's Python writer is GML 3.2.
            raise WFSError("OperationProcessingFailed", "GetFeature",
                           _("Ce type d'objets ne peut pas être écrit en GML 3.1.1."))
        self._write(instance)

    def render_exception(self, exception):
        # WFS 1.1.0 has no truncatedResponse: say it in a comment and close the document.
        buffer = self.output.getvalue()
        return (f"{buffer}<!-- Réponse interrompue : {exception.__class__.__name__} -->\n"
                "</wfs:FeatureCollection>\n")


GEOMETRY_TYPES = {"gml:SurfacePropertyType": "gml:PolygonPropertyType",
                  "gml:CurvePropertyType": "gml:LineStringPropertyType"}


class GML311SchemaRenderer(XmlSchemaRenderer):
    """gisserver's DescribeFeatureType schema, for GML 3.1.1 (gml:_Feature, gml 3.1.1 types)."""

    content_type = CONTENT_TYPE

    def render_imports(self):
        return f'  <import namespace="{GML31}" schemaLocation="{GML311_SCHEMA}" />\n'

    def render_stream(self):
        text = super().render_stream()
        # Name the geometry types ST_AsGML writes (gml:Polygon, gml:LineString with option 4),
        # as GeoServer does: GDAL reads gml:SurfacePropertyType as a "Curve Polygon".
        for generic, exact in GEOMETRY_TYPES.items():
            text = text.replace(f'type="{generic}"', f'type="{exact}"')
        return (text.replace(f'"{GML32}"', f'"{GML31}"')
                .replace('substitutionGroup="gml:AbstractFeature"',
                         'substitutionGroup="gml:_Feature"'))
