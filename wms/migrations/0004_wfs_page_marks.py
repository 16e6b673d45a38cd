"""Where each WFS page served recently ended, so that the next page (STARTINDEX = the previous
page's end, as QGIS asks) continues after the last fid instead of skipping rows with OFFSET
(wms.wfs.paging). A cache: unlogged, rows older than the paging window are deleted."""
from django.db import migrations

CREATE = """
CREATE UNLOGGED TABLE wms_wfs_page_marks (
    query_key text NOT NULL,
    start_index bigint NOT NULL,
    after_fid bigint NOT NULL,
    number_matched bigint,
    data_version text NOT NULL,
    marked_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (query_key, start_index)
);
CREATE INDEX wms_wfs_page_marks_marked_at ON wms_wfs_page_marks (marked_at);
"""
DROP = "DROP TABLE IF EXISTS wms_wfs_page_marks;"


class Migration(migrations.Migration):
    dependencies = [("wms", "0003_catalogue_seen")]

    operations = [migrations.RunSQL(CREATE, DROP)]
