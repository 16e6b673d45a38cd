"""TransactionResponse documents: 1.1-style for WFS 1.1.0 requests (what QGIS understands),
2.0-style for WFS 2.0.0 requests."""
from xml.sax.saxutils import quoteattr

from django.http import HttpResponse


def transaction_response(version, outcome):
    if version == "1.1.0":
        body = _response_11(outcome)
    else:
        body = _response_20(outcome)
    return HttpResponse(body, content_type="text/xml; charset=utf-8")


def _summary(outcome, prefix, replaced=False):
    parts = [
        f"<{prefix}:totalInserted>{len(outcome.inserted)}</{prefix}:totalInserted>",
        f"<{prefix}:totalUpdated>{outcome.updated}</{prefix}:totalUpdated>",
    ]
    if replaced:
        parts.append(f"<{prefix}:totalReplaced>0</{prefix}:totalReplaced>")
    parts.append(f"<{prefix}:totalDeleted>{outcome.deleted}</{prefix}:totalDeleted>")
    return f"<{prefix}:TransactionSummary>{''.join(parts)}</{prefix}:TransactionSummary>"


def _handle(handle):
    return f" handle={quoteattr(handle)}" if handle else ""


def _response_11(outcome):
    inserted = "".join(
        f'<wfs:Feature{_handle(handle)}><ogc:FeatureId fid="{name}.{fid}"/></wfs:Feature>'
        for handle, name, fid in outcome.inserted
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<wfs:TransactionResponse xmlns:wfs="http://www.opengis.net/wfs" '
        'xmlns:ogc="http://www.opengis.net/ogc" version="1.1.0">'
        f"{_summary(outcome, 'wfs')}"
        "<wfs:TransactionResults/>"
        f"{f'<wfs:InsertResults>{inserted}</wfs:InsertResults>' if inserted else ''}"
        "</wfs:TransactionResponse>\n"
    )


def _response_20(outcome):
    inserted = "".join(
        f'<wfs:Feature{_handle(handle)}><fes:ResourceId rid="{name}.{fid}"/></wfs:Feature>'
        for handle, name, fid in outcome.inserted
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<wfs:TransactionResponse xmlns:wfs="http://www.opengis.net/wfs/2.0" '
        'xmlns:fes="http://www.opengis.net/fes/2.0" version="2.0.0">'
        f"{_summary(outcome, 'wfs', replaced=True)}"
        f"{f'<wfs:InsertResults>{inserted}</wfs:InsertResults>' if inserted else ''}"
        "</wfs:TransactionResponse>\n"
    )
