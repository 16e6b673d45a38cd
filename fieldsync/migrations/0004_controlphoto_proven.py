from django.db import migrations, models


def existing_links_held(apps, schema_editor):
    """Links made before this field count as held when their photo was verified (as they were
    shown until then)."""
    ControlPhoto = apps.get_model("fieldsync", "ControlPhoto")
    ControlPhoto.objects.filter(blob__verified=True).update(proven=True)


class Migration(migrations.Migration):
    dependencies = [("fieldsync", "0003_installation_created_by")]

    operations = [
        migrations.AddField(
            model_name="controlphoto", name="proven",
            field=models.BooleanField(default=False, verbose_name="reçue pour ce contrôle")),
        migrations.RunPython(existing_links_held, migrations.RunPython.noop),
    ]
