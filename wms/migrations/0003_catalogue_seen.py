"""When each catalogue version was first served, for the Last-Modified of capabilities documents
(wms.capabilities_revalidation); theme changes (titles and descriptions of the capabilities' layer groups)
bump the catalogue version too.

A version's time is the time a request first read it, which is after the change committed (a
trigger's now() or clock_timestamp() is before the commit, so a long publication could date its
change before a document already served). One row per version, inserted with ON CONFLICT DO
NOTHING: never blocked by the transaction that holds the counter's row.
"""
from django.db import migrations

CREATE = """
CREATE TABLE wms_catalogue_seen (
    version bigint PRIMARY KEY,
    seen_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TRIGGER wms_catalogue_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON layers_theme
FOR EACH STATEMENT EXECUTE FUNCTION wms_bump_catalogue_version();
"""
DROP = """
DROP TRIGGER IF EXISTS wms_catalogue_version ON layers_theme;
DROP TABLE IF EXISTS wms_catalogue_seen;
"""


class Migration(migrations.Migration):
    dependencies = [("wms", "0002_remote_catalogue_version"), ("layers", "0006_feature_changes")]

    operations = [migrations.RunSQL(CREATE, DROP)]
