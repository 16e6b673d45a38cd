"""The catalogue version also follows remote services and layers (their CRSs, formats, styles
and capabilities metadata are part of what maps.decisions caches for a remote layer)."""
from django.db import migrations

TABLES = ("layers_remoteservice", "layers_remotelayer")

CREATE = "".join(
    f"CREATE TRIGGER wms_catalogue_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION wms_bump_catalogue_version();\n"
    for table in TABLES
)
DROP = "".join(f"DROP TRIGGER IF EXISTS wms_catalogue_version ON {table};\n" for table in TABLES)


class Migration(migrations.Migration):
    dependencies = [("wms", "0001_catalogue_version")]

    operations = [migrations.RunSQL(CREATE, DROP)]
