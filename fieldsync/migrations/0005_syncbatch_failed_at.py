from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("fieldsync", "0004_controlphoto_proven"),
    ]

    operations = [
        migrations.AddField(
            model_name="syncbatch",
            name="failed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="abandonné le"),
        ),
    ]
