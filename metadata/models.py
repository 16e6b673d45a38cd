"""The table pycsw answers from: one row per layer the anonymous public may view, rebuilt from the
catalogue by metadata.records (never edited: the catalogue is the source of truth).

Columns are those of pycsw's own repository table (its default mappings), all text as there;
``xml`` holds the layer's ISO 19139 record (metadata.iso19139) and the other columns the
queryables pycsw extracted from it (metadata.records uses pycsw's own ISO parser)."""
from django.db import models

PYCSW_COLUMNS = [
    "typename", "schema", "mdsource", "insert_date", "xml", "anytext", "language", "type",
    "title", "title_alternate", "abstract", "keywords", "keywordstype", "parentidentifier",
    "relation", "time_begin", "time_end", "topicategory", "resourcelanguage", "creator",
    "publisher", "contributor", "organization", "securityconstraints", "accessconstraints",
    "otherconstraints", "date", "date_revision", "date_creation", "date_publication",
    "date_modified", "format", "source", "crs", "geodescode", "denominator", "distancevalue",
    "distanceuom", "wkt_geometry", "servicetype", "servicetypeversion", "operation",
    "couplingtype", "operateson", "operatesonidentifier", "operatesoname", "degree",
    "classification", "conditionapplyingtoaccessanduse", "lineage", "responsiblepartyrole",
    "specificationtitle", "specificationdate", "specificationdatetype", "platform", "instrument",
    "sensortype", "cloudcover", "bands", "links",
]


class CatalogueRecord(models.Model):
    identifier = models.TextField(primary_key=True)  # the layer's UUID
    layer_name = models.TextField()
    locals().update({column: models.TextField(null=True) for column in PYCSW_COLUMNS})

    class Meta:
        ordering = ["identifier"]

    def __str__(self):
        return self.title or self.identifier


class CatalogueState(models.Model):
    """What the records were built from: the catalogue version and data version counters (bumped
    by triggers on every change to layers, their rows, rules and themes) and the platform address written in the links."""
    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    catalogue_version = models.BigIntegerField(null=True)
    data_version = models.BigIntegerField(null=True)  # the layers' rows (extents, dates)
    base_url = models.TextField(blank=True)
    built_at = models.DateTimeField(auto_now=True)
