"""The read-your-writes marks of platform_web.db_routing: each user's last write position.

UNLOGGED: the marks matter for seconds, are read on the primary only and need not reach the
replica (nor survive a crash of the primary: the replica has then replayed all it will ever get).
"""
from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.RunSQL(
            "CREATE UNLOGGED TABLE platform_web_write_marks ("
            " user_id bigint PRIMARY KEY,"
            " lsn text NOT NULL,"
            " written_at timestamptz NOT NULL DEFAULT now())",
            "DROP TABLE platform_web_write_marks",
        ),
    ]
