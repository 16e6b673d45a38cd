"""The schemas that hold layer data, and the themes of French territories to start with."""
from django.db import migrations

from layers.models import DATA_SCHEMA, HISTORY_SCHEMA, STAGING_SCHEMA

THEMES = [
    ("administratif", "Administratif"),
    ("urbanisme", "Urbanisme"),
    ("reseaux", "Réseaux"),
    ("eau-assainissement", "Eau et assainissement"),
    ("environnement", "Environnement"),
    ("economie", "Économie"),
    ("tourisme", "Tourisme"),
    ("mobilite", "Mobilité"),
    ("risques", "Risques"),
    ("patrimoine", "Patrimoine"),
    ("fonds-de-plan", "Fonds de plan"),
]


def seed_themes(apps, schema_editor):
    Theme = apps.get_model("layers", "Theme")
    for order, (slug, name) in enumerate(THEMES, start=1):
        Theme.objects.get_or_create(slug=slug, defaults={"name": name, "order": order * 10})


class Migration(migrations.Migration):
    dependencies = [("layers", "0001_initial")]

    operations = [
        migrations.RunSQL(
            [f'CREATE SCHEMA IF NOT EXISTS "{schema}"'
             for schema in (DATA_SCHEMA, STAGING_SCHEMA, HISTORY_SCHEMA)],
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RunPython(seed_themes, migrations.RunPython.noop),
    ]
