from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("layers", "0010_group_membership_bumps_catalogue"),
    ]

    operations = [
        migrations.CreateModel(
            name="TaskWorker",
            fields=[
                ("worker_id", models.CharField(max_length=64, primary_key=True, serialize=False, verbose_name="identifiant")),
                ("host", models.CharField(blank=True, max_length=255, verbose_name="machine")),
                ("pid", models.IntegerField(blank=True, null=True, verbose_name="processus")),
                ("started_at", models.DateTimeField(verbose_name="démarré le")),
                ("beat_at", models.DateTimeField(verbose_name="dernier signe de vie")),
            ],
            options={
                "verbose_name": "travailleur de tâches de fond",
                "verbose_name_plural": "travailleurs de tâches de fond",
            },
        ),
    ]
