"""WFS 1.1.0 read side (GetCapabilities, DescribeFeatureType, GetFeature) at /ows.

django-gisserver 2.5 speaks WFS 2.0.0 only; 1.1.0 asks the same questions with other words,
so a 1.1.0 request is rewritten as a 2.0.0 one (translate.py) and answered by the 2.0 view's
machinery (same feature types per user through the access policy, same SQL encoding) with
1.1.0 documents (view.py, output.py, templates/wfs/capabilities_1_1_0.xml).

Version negotiation (2.0.0 stays the default):
- GetCapabilities: the first of ACCEPTVERSIONS this server offers (OWS 1.1 order of
  preference), else VERSION, else 2.0.0;
- other KVP requests: VERSION=1.1.0 (or 1.1);
- POST: a document in the WFS 1.1 namespace (http://www.opengis.net/wfs).
The Transaction stays wms.wfs.transaction's, which already reads 1.1.0 documents.
"""
from django.utils.translation import gettext as _

from ..exceptions import WFSError

VERSION = "1.1.0"


def negotiated(params):
    """The version a KVP request asks for: "2.0.0", "1.1.0", or None (not offered)."""
    if params.get("REQUEST", "").lower() == "getcapabilities" and params.get("ACCEPTVERSIONS"):
        for version in params["ACCEPTVERSIONS"].split(","):
            version = version.strip()
            if version in ("1.1", "1.1.0"):
                return VERSION
            if version in ("2.0", "2.0.0", "2.0.2"):
                return "2.0.0"
        raise WFSError("VersionNegotiationFailed", "AcceptVersions",
                       _("Aucune des versions demandées (%(asked)s) n'est proposée : "
                         "WFS 2.0.0 et 1.1.0 le sont.") % {"asked": params["ACCEPTVERSIONS"]})
    version = params.get("VERSION", "").strip()
    if version in ("1.1", "1.1.0"):
        return VERSION
    return "2.0.0"


def handle_get(request, params):
    from . import translate
    from .view import WFS110View

    return WFS110View.as_view(params=translate.kvp(params))(request)


def handle_post(request):
    from . import translate
    from ..xml import split
    from .view import WFS110View

    root, prefixes = translate.parse_with_prefixes(request.body)
    local = split(root.tag)[1]
    if local == "GetFeature":
        document = translate.get_feature_document(root, prefixes)
    elif local in ("GetCapabilities", "DescribeFeatureType"):
        document = translate.other_document(root, prefixes)
    else:
        raise WFSError("OperationNotSupported", local or "request",
                       _("Opération WFS 1.1.0 non prise en charge : %(op)s (GetCapabilities, "
                         "DescribeFeatureType, GetFeature et Transaction le sont).")
                       % {"op": local})
    return WFS110View.as_view(document=document)(request)
