"""A counter bumped by every change to the catalogue tables the WMS caches decisions from.

Statement-level triggers on layers, access rules (and their communes) and styles add one to
wms_catalogue_version in the changing transaction, so the new value becomes visible exactly when
the change does (see maps.decisions).
"""
from django.db import migrations

TABLES = ("layers_layer", "layers_accessrule", "layers_accessrule_communes", "layers_style")

CREATE = """
CREATE TABLE wms_catalogue_version (
    id smallint PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL
);
INSERT INTO wms_catalogue_version VALUES (1, 1);
CREATE FUNCTION wms_bump_catalogue_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE wms_catalogue_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END $$;
""" + "".join(
    f"CREATE TRIGGER wms_catalogue_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION wms_bump_catalogue_version();\n"
    for table in TABLES
)

DROP = "".join(f"DROP TRIGGER IF EXISTS wms_catalogue_version ON {table};\n" for table in TABLES) + """
DROP FUNCTION IF EXISTS wms_bump_catalogue_version();
DROP TABLE IF EXISTS wms_catalogue_version;
"""


class Migration(migrations.Migration):
    dependencies = [("layers", "0006_feature_changes")]

    operations = [migrations.RunSQL(CREATE, DROP)]
