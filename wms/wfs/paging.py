"""Keyset paging behind STARTINDEX: flat pages through a large layer, none skipped.

QGIS (and most WFS clients) page a layer with STARTINDEX/COUNT and never follow the `next` links.
Cut by OFFSET, the page at STARTINDEX=k reads and drops k rows first (the last page of a million
parcels reads them all), and a feature deleted from a page already read shifts the next ones: the
first of the next page is never seen.

Each GetFeature page of a layer in fid order (no SORTBY) served through the SQL renderers is
remembered for PAGING_WINDOW seconds (table wms_wfs_page_marks, shared by every worker): the
query (its SQL and parameters: type, filters, the user's rows), the index where the next page
starts and the last fid served. A request for that query at that index continues after that fid
(``fid > last``, the primary key's index: the same time for every page), with numberMatched
reused while the layer's data have not changed (Layer.data_updated_at) and numberReturned
counted on the page itself. A client continuing a paging therefore gets every feature once even
when features are deleted or added meanwhile (added ones come last: fids grow). Any other
STARTINDEX (a jump, an expired or unknown paging) is an OFFSET, as before.
"""
import hashlib
import math
import re

from django.db import connection

from layers.tables import PRIMARY_KEY

from .features import LayerFeatureType

PAGING_WINDOW = 15 * 60  # seconds a page's end is remembered
_FID = {}


def _fid_pattern(name):
    pattern = _FID.get(name)
    if pattern is None:
        # The feature's id as the encoders write it: gml:id="name.fid" or "id":"name.fid".
        pattern = _FID[name] = re.compile(re.escape(name).encode() + rb"\.(\d+)\"")
    return pattern


def eligible(sub_collection):
    """A page of one catalogue layer in plain fid order, with a bounded COUNT."""
    types = sub_collection.feature_types
    if len(types) != 1 or not isinstance(types[0], LayerFeatureType):
        return False
    if sub_collection.stop == math.inf:
        return False
    return tuple(sub_collection.queryset.query.order_by) == (PRIMARY_KEY,)


def query_key(sub_collection):
    sql, params = sub_collection.queryset.query.sql_with_params()
    text = f"{sub_collection.feature_types[0].name}\n{sql}\n{params!r}"
    return hashlib.sha256(text.encode()).hexdigest()


def data_version(sub_collection):
    layer = sub_collection.feature_types[0].layer
    return layer.data_updated_at.isoformat() if layer.data_updated_at else ""


def continue_pagings(collection):
    """Give each page that continues a remembered one its keyset start (and numberMatched)."""
    for sub_collection in collection.results:
        if not getattr(sub_collection, "supports_keyset", False) or not eligible(sub_collection):
            continue
        sub_collection.paging_key = query_key(sub_collection)
        if not sub_collection.start:
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT after_fid, number_matched, data_version FROM wms_wfs_page_marks "
                "WHERE query_key = %s AND start_index = %s "
                "AND marked_at > clock_timestamp() - make_interval(secs => %s)",
                [sub_collection.paging_key, sub_collection.start, PAGING_WINDOW])
            row = cursor.fetchone()
        if row is not None:
            after, matched, version = row
            sub_collection.keyset_after = after
            if matched is not None and version == data_version(sub_collection):
                sub_collection.known_matched = matched


def remember(sub_collection, last_row):
    """Record where the page just served ended (its last feature's text gives the fid)."""
    key = getattr(sub_collection, "paging_key", None)
    if key is None or last_row is None:
        return
    text = last_row.encode() if isinstance(last_row, str) else bytes(last_row)
    match = _fid_pattern(sub_collection.feature_types[0].name).search(text)
    if match is None:
        return
    matched = sub_collection._number_matched
    matched = matched if isinstance(matched, int) else None
    with connection.cursor() as cursor:
        if not sub_collection.start:  # a new paging: forget the expired ones
            cursor.execute("DELETE FROM wms_wfs_page_marks WHERE marked_at < "
                           "clock_timestamp() - make_interval(secs => %s)", [PAGING_WINDOW])
        cursor.execute(
            "INSERT INTO wms_wfs_page_marks (query_key, start_index, after_fid, number_matched, "
            "data_version) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (query_key, start_index) DO "
            "UPDATE SET after_fid = EXCLUDED.after_fid, number_matched = EXCLUDED.number_matched, "
            "data_version = EXCLUDED.data_version, marked_at = clock_timestamp()",
            [key, sub_collection.stop, int(match.group(1)), matched,
             data_version(sub_collection)])
