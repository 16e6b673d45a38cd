"""A change of a layer's rows is not a change of the catalogue.

Until now any UPDATE of layers_layer bumped wms_catalogue_version, including the count, extents
and dates that refresh_layer_metadata writes after every change of a layer's rows (a sync push,
a WFS-T transaction, a new signalement). Every worker then dropped all its cached decisions and
Mapnik maps, and the next map it drew cost ten times a warm one (docs/benchmarks.md).

Now the counter row holds two values:
- ``version``: what the access policy, styles and maps are decided from (layers' definitions,
  rules, styles, themes, remote services). Bumped, as before, by any INSERT, DELETE or TRUNCATE
  of layers_layer and by an UPDATE that changes anything but the data-derived fields below — or
  that gives a layer its first rows or takes its last (its extent appears or disappears: maps
  draw only layers with an extent).
- ``data_version``: bumped by an UPDATE that changes only data-derived fields (count, extents,
  data date, thumbnail, search vector, and updated_at which every save touches). What shows
  those (capabilities' extents and validators, the tile service's coverages, metadata records)
  keys on both values; maps do not depend on them (maps.renderer gives Mapnik the whole CRS as
  the datasource extent).
"""
from django.db import migrations

DATA_FIELDS = ("feature_count", "extent", "extent_wgs84", "extent_webmercator",
               "data_updated_at", "updated_at", "thumbnail", "search_vector")
FIELDS = "'{" + ",".join(DATA_FIELDS) + "}'::text[]"
STRUCTURAL = (f"(to_jsonb(OLD) - {FIELDS}) IS DISTINCT FROM (to_jsonb(NEW) - {FIELDS}) "
              f"OR (OLD.extent IS NULL) <> (NEW.extent IS NULL)")

CREATE = f"""
ALTER TABLE wms_catalogue_version ADD COLUMN data_version bigint NOT NULL DEFAULT 1;
CREATE FUNCTION wms_bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE wms_catalogue_version SET data_version = data_version + 1 WHERE id = 1;
    RETURN NULL;
END $$;
DROP TRIGGER wms_catalogue_version ON layers_layer;
CREATE TRIGGER wms_catalogue_version AFTER INSERT OR DELETE OR TRUNCATE ON layers_layer
FOR EACH STATEMENT EXECUTE FUNCTION wms_bump_catalogue_version();
CREATE TRIGGER wms_catalogue_version_update AFTER UPDATE ON layers_layer
FOR EACH ROW WHEN ({STRUCTURAL}) EXECUTE FUNCTION wms_bump_catalogue_version();
CREATE TRIGGER wms_data_version AFTER UPDATE ON layers_layer
FOR EACH ROW WHEN (NOT ({STRUCTURAL})) EXECUTE FUNCTION wms_bump_data_version();

ALTER TABLE wms_catalogue_seen ADD COLUMN data_version bigint NOT NULL DEFAULT 1;
ALTER TABLE wms_catalogue_seen DROP CONSTRAINT wms_catalogue_seen_pkey;
ALTER TABLE wms_catalogue_seen ADD PRIMARY KEY (version, data_version);
"""
DROP = """
ALTER TABLE wms_catalogue_seen DROP CONSTRAINT wms_catalogue_seen_pkey;
DELETE FROM wms_catalogue_seen s USING wms_catalogue_seen t
    WHERE s.version = t.version AND s.data_version > t.data_version;
ALTER TABLE wms_catalogue_seen DROP COLUMN data_version;
ALTER TABLE wms_catalogue_seen ADD PRIMARY KEY (version);
DROP TRIGGER IF EXISTS wms_data_version ON layers_layer;
DROP TRIGGER IF EXISTS wms_catalogue_version_update ON layers_layer;
DROP TRIGGER IF EXISTS wms_catalogue_version ON layers_layer;
CREATE TRIGGER wms_catalogue_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON layers_layer
FOR EACH STATEMENT EXECUTE FUNCTION wms_bump_catalogue_version();
DROP FUNCTION IF EXISTS wms_bump_data_version();
ALTER TABLE wms_catalogue_version DROP COLUMN data_version;
"""


class Migration(migrations.Migration):
    dependencies = [("wms", "0004_wfs_page_marks"), ("layers", "0010_group_membership_bumps_catalogue")]

    operations = [migrations.RunSQL(CREATE, DROP)]
