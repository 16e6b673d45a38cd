"""WMS service exceptions (1.3.0 and 1.1.1 reports) and their XML, INIMAGE and BLANK answers."""
import re
from xml.sax.saxutils import escape, quoteattr

from django.http import HttpResponse

from maps.errors import MapError

# Exception formats per version: the XML report, an image with the message, a blank image.
XML, INIMAGE, BLANK = "xml", "inimage", "blank"
EXCEPTION_FORMATS = {
    "1.3.0": {"XML": XML, "INIMAGE": INIMAGE, "BLANK": BLANK},
    "1.1.1": {"application/vnd.ogc.se_xml": XML, "application/vnd.ogc.se_inimage": INIMAGE,
              "application/vnd.ogc.se_blank": BLANK},
}


# The WMS's own refusals (parameters, formats) and the map engine's (unknown layer or style, CRS
# not offered) are one kind of error: an OGC exception code, a French message, a locator.
WmsError = MapError


def exception_format(params, version):
    """xml / inimage / blank from EXCEPTIONS (either version's spelling accepted)."""
    value = (params.get("EXCEPTIONS") or "").strip()
    for formats in (EXCEPTION_FORMATS[version], *EXCEPTION_FORMATS.values()):
        for name, kind in formats.items():
            if value.lower() == name.lower():
                return kind
    return XML


NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text):
    """Text that XML 1.0 can carry (the message may quote what the client sent)."""
    return NOT_XML.sub("\ufffd", text)


def xml_report(error, version):
    code = f' code="{error.code}"' if error.code else ""
    locator = f" locator={quoteattr(xml_text(error.locator))}" if error.locator else ""
    message = escape(xml_text(error.message))
    if version == "1.1.1":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<!DOCTYPE ServiceExceptionReport SYSTEM '
            '"http://schemas.opengis.net/wms/1.1.1/exception_1_1_1.dtd">\n'
            f'<ServiceExceptionReport version="1.1.1"><ServiceException{code}{locator}>'
            f"{message}</ServiceException></ServiceExceptionReport>\n"
        )
        content_type = "application/vnd.ogc.se_xml; charset=utf-8"
    else:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<ServiceExceptionReport version="1.3.0" xmlns="http://www.opengis.net/ogc" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:schemaLocation="http://www.opengis.net/ogc '
            'http://schemas.opengis.net/wms/1.3.0/exceptions_1_3_0.xsd">'
            f"<ServiceException{code}{locator}>{message}</ServiceException>"
            "</ServiceExceptionReport>\n"
        )
        content_type = "text/xml; charset=utf-8"
    # 400: a client error (OWSLib and QGIS read the report either way).
    return HttpResponse(body.encode("utf-8"), status=400, content_type=content_type)
