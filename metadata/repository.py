"""pycsw's repository on the records table, through Django's ORM (as GeoNode embeds pycsw): pycsw
turns CSW filters into an SQL condition with %s parameters (its "django" mode), this class runs
it on CatalogueRecord. Read-only: CSW transactions and harvesting are off (the catalogue is
edited in the administration, metadata.records writes the table).

pycsw's own repository class is not used: it needs SQLAlchemy 1.x and a second connection pool.
"""
from django.db.models import Count, Max, Min
from django.utils.translation import gettext as _

from .models import PYCSW_COLUMNS, CatalogueRecord

COLUMNS = set(PYCSW_COLUMNS) | {"identifier"}


class PublicRecordsRepository:
    def __init__(self, context, repo_filter=None):
        self.context = context
        self.filter = repo_filter
        self.fts = False
        self.label = "C@p Géo"
        self.local_ingest = True
        # Spatial filters become st_intersects(st_geomfromtext(wkt_geometry), …) in PostGIS.
        self.dbtype = "postgresql+postgis+wkt"
        self.dataset = CatalogueRecord
        self.queryables = {}
        for typename in context.model["typenames"]:
            for name, queryable in context.model["typenames"][typename]["queryables"].items():
                self.queryables[name] = dict(queryable)
        self.queryables["_all"] = {}
        for name in list(self.queryables):
            if name != "_all":
                self.queryables["_all"].update(self.queryables[name])
        self.queryables["_all"].update(context.md_core_model["mappings"])

    def _records(self):
        return CatalogueRecord.objects.all()

    def query_ids(self, ids):
        return list(self._records().filter(identifier__in=ids))

    def query_domain(self, domain, typenames, domainquerytype="list", count=False):
        if domain not in COLUMNS:
            return []
        records = self._records().exclude(**{f"{domain}__isnull": True})
        if domainquerytype == "range":
            return [tuple(records.aggregate(Min(domain), Max(domain)).values())]
        if count:
            return [(row[domain], row["n"])
                    for row in records.values(domain).annotate(n=Count("identifier"))
                    .order_by(domain)]
        return list(records.values_list(domain).distinct().order_by(domain))

    def query_insert(self, direction="max"):
        aggregate = Min if direction == "min" else Max
        return self._records().aggregate(value=aggregate("insert_date"))["value"]

    def query_source(self, source):
        return list(self._records().filter(source=source))

    def query(self, constraint, sortby=None, typenames=None, maxrecords=10, startposition=0):
        records = self._records()
        if "where" in constraint:
            records = records.extra(where=[constraint["where"]], params=constraint["values"])
        total = records.count()
        start, stop = int(startposition), int(startposition) + int(maxrecords)
        if sortby and sortby.get("propertyname") in COLUMNS and not sortby.get("spatial"):
            order = sortby["propertyname"]
            records = records.order_by(("-" if sortby.get("order") == "DESC" else "") + order,
                                       "identifier")
        return [str(total), list(records[start:stop])]

    def insert(self, *args, **kwargs):
        raise RuntimeError(_("Catalogue en lecture seule : modifiez les couches dans "
                             "l'administration."))

    update = delete = insert
