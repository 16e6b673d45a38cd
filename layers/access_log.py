"""« Qui a lu quoi » : the journal of reads of personal-data columns.

A layer's columns flagged as personal data (Layer.personal_columns) are recorded each time a
feature source outputs them — GeoJSON pages and exports, CSV, GeoPackage and Shapefile, WFS
GetFeature / GetPropertyValue, GetFeatureInfo, vector tiles, field packages, printed reports,
maps whose style reads them (maps.renderer.journal_drawn):
who, when, which layer and columns, how many rows, through which protocol, from which address.
The FeatureSource calls record() itself, so no protocol can forget it. The journal
(PersonalDataRead) is append-only (a trigger refuses updates and deletes) and is purged past the
retention period (CAPGEO_PERSONAL_DATA_READS_RETENTION_DAYS, 365 by default) by
`manage.py purge_personal_data_reads`; the data protection officer filters and exports it (CSV)
in the admin.

The protocol is named from the request being served (PersonalDataReadMiddleware sets it); code
outside a request may name its own with reading_as("fieldsync-package").
"""
import contextlib
import contextvars
import logging

from django.db import DatabaseError, transaction

logger = logging.getLogger(__name__)

_context = contextvars.ContextVar("capgeo_read_context", default=None)

# Path prefixes -> protocol, the first that matches.
PREFIXES = (
    ("/api/", "rest"), ("/mapproxy/", "wmts"), ("/tuiles/", "mvt"), ("/tiles/", "mvt"),
    ("/donnees/", "open-data"), ("/ogc/", "ogc-api"), ("/terrain/", "fieldsync"),
    ("/sync/", "fieldsync"), ("/spanc/", "spanc"), ("/carte/", "web-map"), ("/csw", "csw"),
)


def protocol_of(request):
    path = request.path
    if path.startswith("/ows") or path.startswith("/wfs") or path.startswith("/wms"):
        service = (request.GET.get("SERVICE") or request.GET.get("service") or "").upper()
        verb = request.GET.get("REQUEST") or request.GET.get("request") or ""
        if request.method == "POST":
            return "wfs"
        return "-".join(p for p in (service.lower() or "ows", verb[:40]) if p)
    for prefix, name in PREFIXES:
        if path.startswith(prefix):
            return name
    return path.split("/")[1][:30] or "web"


class PersonalDataReadMiddleware:
    """Names the protocol and the address of the request for the journal."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _context.set({"protocol": protocol_of(request)[:30],
                              "address": request.META.get("REMOTE_ADDR") or None,
                              "request": request})
        try:
            return self.get_response(request)
        finally:
            _context.reset(token)


@contextlib.contextmanager
def reading_as(protocol, address=None):
    """Name the protocol of the reads made inside (the request's address kept when none is
    given): a request whose reads belong to a protocol of their own (the field package)."""
    if address is None:
        address = (_context.get() or {}).get("address")
    token = _context.set({"protocol": protocol[:30], "address": address,
                          "request": (_context.get() or {}).get("request")})
    try:
        yield
    finally:
        _context.reset(token)


def record(source, names, rows=None):
    """Journal a read of `names` (column names output) of the source's layer by its user, when
    some are personal data. rows: how many rows were output (None: unknown, e.g. a tile)."""
    flagged = set(getattr(source.layer, "personal_columns", None) or ())
    personal = [name for name in names if name in flagged]
    if not personal:
        return None
    return record_read(source.user, source.layer.name, personal, rows)


def record_read(user, layer_name, personal, rows=None):
    """Journal a read of personal data (`personal`: the names of what was output) of a layer's
    records that did not go through a feature source: a domain's own API or document built
    from the same records (the SPANC field package and its owners, a printed visit report).
    The protocol is the one named by reading_as, else the request's."""
    from .models import PersonalDataRead

    context = _context.get() or {"protocol": "python", "address": None}
    if user is not None and getattr(getattr(user, "_state", None), "adding", False):
        # An audience's stand-in (a tile drawn for everyone with the same rights, the admin's
        # « ce que voit » map), never saved: the reader is the request's user.
        request = context.get("request")
        user = getattr(request, "user", None) if request is not None else None
    user = user if user is not None and user.is_authenticated else None
    layer_name = str(layer_name)
    try:
        with transaction.atomic():
            return PersonalDataRead.objects.create(
                user=user, username=getattr(user, "username", "") if user else "",
                layer_name=layer_name, columns=list(personal), rows=rows,
                protocol=context["protocol"], address=context["address"])
    except DatabaseError:  # a read-only replica: the read is logged instead
        logger.warning("personal data read of %s.%s by %s not journaled", layer_name,
                       personal, getattr(user, "username", "anonymous"), exc_info=True)
        return None
