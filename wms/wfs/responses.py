"""TransactionResponse documents: 1.1-style for WFS 1.1.0 requests (what QGIS understands),
2.0-style for WFS 2.0.0 requests.

QGIS writes its Transaction with version="1.0.0" whatever the server's version, and reads the
answer by the version of its connection: QGIS 3.22 (Debian 12) looks for the 1.0
TransactionResult/Status/SUCCESS and InsertResult when connected in 2.0, newer QGIS for the
1.1 TransactionSummary and InsertResults. A version="1.0.0" document is therefore answered with
a 1.0 WFS_TransactionResponse that also carries the 1.1 summary and insert results: both
readers look their elements up by name anywhere in the document (checked with QGIS 3.22 by
docs/tools/qgis_screenshots.py --edit-check)."""
from xml.sax.saxutils import quoteattr

from django.http import HttpResponse


def transaction_response(version, outcome):
    if version == "1.0.0":
        body = _response_10(outcome)
    elif version == "1.1.0":
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


def _response_10(outcome):
    fids = [f"{name}.{fid}" for _handle_, name, fid in outcome.inserted]
    inserted_10 = "".join(f'<wfs:InsertResult><ogc:FeatureId fid="{fid}"/></wfs:InsertResult>'
                          for fid in fids)
    inserted_11 = "".join(f'<wfs:Feature><ogc:FeatureId fid="{fid}"/></wfs:Feature>'
                          for fid in fids)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<wfs:WFS_TransactionResponse xmlns:wfs="http://www.opengis.net/wfs" '
        'xmlns:ogc="http://www.opengis.net/ogc" version="1.0.0">'
        f"{inserted_10}"
        "<wfs:TransactionResult><wfs:Status><wfs:SUCCESS/></wfs:Status></wfs:TransactionResult>"
        f"{_summary(outcome, 'wfs')}"
        f"{f'<wfs:InsertResults>{inserted_11}</wfs:InsertResults>' if inserted_11 else ''}"
        "</wfs:WFS_TransactionResponse>\n"
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
