"""Rules as fine as the data charter asks (issue #14): effect and priority, named users and
groups, separate operations, columns, read and write filters, validity dates; personal-data
columns and the journal of their reads.

Existing rules are migrated losslessly: their level becomes the same operations (view; view +
download; every operation for edit), their commune restriction stays the read filter, no column
listed (every column, as before), no write filter beyond the read one, always valid. The new
many-to-many tables bump the catalogue version like the others (migration wms 0001); the journal
refuses updates and deletes (append-only, purged only past the retention period by
`manage.py purge_personal_data_reads`, which lifts the guard for its own transaction).
"""

import django.contrib.gis.db.models.fields
import django.contrib.postgres.fields
import django.db.models.deletion
import layers.models
from django.conf import settings
from django.db import migrations, models


def operations_from_levels(apps, schema_editor):
    AccessRule = apps.get_model("layers", "AccessRule")
    levels = {"view": ["view"], "download": ["view", "download"],
              "edit": ["view", "download", "insert", "update_attributes", "update_geometry",
                       "delete"]}
    for permission, operations in levels.items():
        AccessRule.objects.filter(permission=permission).update(operations=operations)


def levels_from_operations(apps, schema_editor):
    pass  # the level was kept beside the operations


TRIGGERS = """
CREATE TRIGGER wms_catalogue_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
ON layers_accessrule_users FOR EACH STATEMENT EXECUTE FUNCTION wms_bump_catalogue_version();
CREATE TRIGGER wms_catalogue_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
ON layers_accessrule_groups FOR EACH STATEMENT EXECUTE FUNCTION wms_bump_catalogue_version();
CREATE FUNCTION layers_personal_reads_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('capgeo.purge_personal_reads', true) = 'on' AND TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'layers_personaldataread is append-only';
END $$;
CREATE TRIGGER layers_personal_reads_append_only BEFORE UPDATE OR DELETE
ON layers_personaldataread FOR EACH ROW EXECUTE FUNCTION layers_personal_reads_append_only();
"""
DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS wms_catalogue_version ON layers_accessrule_users;
DROP TRIGGER IF EXISTS wms_catalogue_version ON layers_accessrule_groups;
DROP TRIGGER IF EXISTS layers_personal_reads_append_only ON layers_personaldataread;
DROP FUNCTION IF EXISTS layers_personal_reads_append_only();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        ('layers', '0008_discovery_metadata'),
        ('wms', '0003_catalogue_seen'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='accessrule',
            options={'ordering': ['-priority', 'pk'], 'verbose_name': "règle d'accès", 'verbose_name_plural': "règles d'accès"},
        ),
        migrations.AddField(
            model_name='accessrule',
            name='area',
            field=django.contrib.gis.db.models.fields.MultiPolygonField(blank=True, null=True, srid=2154, verbose_name='lecture : zone'),
        ),
        migrations.AddField(
            model_name='accessrule',
            name='area_mode',
            field=models.CharField(choices=[('intersect', 'objets qui touchent la zone (entiers)'), ('clip', 'objets qui touchent la zone, géométries découpées à la zone')], default='intersect', max_length=10, verbose_name='lecture : mode de la zone'),
        ),
        migrations.AddField(
            model_name='accessrule',
            name='columns',
            field=models.JSONField(blank=True, default=dict, verbose_name='colonnes'),
        ),
        migrations.AddField(
            model_name='accessrule',
            name='description',
            field=models.CharField(blank=True, max_length=200, verbose_name='description'),
        ),
        migrations.AddField(
            model_name='accessrule',
            name='effect',
            field=models.CharField(choices=[('allow', 'autoriser'), ('deny', 'interdire')], default='allow', max_length=5, verbose_name='effet'),
        ),
        migrations.AddField(
            model_name='accessrule',
            name='groups',
            field=models.ManyToManyField(blank=True, related_name='+', to='auth.group', verbose_name='groupes'),
        ),
        migrations.AddField(
            model_name='accessrule',
            name='operations',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.CharField(choices=[('view', 'consulter'), ('download', 'télécharger'), ('insert', 'ajouter des objets'), ('update_attributes', 'modifier les attributs'), ('update_geometry', 'modifier les géométries'), ('delete', 'supprimer des objets')], max_length=20), blank=True, default=list, size=None, verbose_name='opérations'),
        ),
        migrations.AddField(
            model_name='accessrule',
            name='other_columns',
            field=models.CharField(choices=[('hidden', 'masquée'), ('read', 'lecture seule'), ('write', 'lecture et écriture')], default='hidden', max_length=6, verbose_name='autres colonnes'),
        ),
        migrations.AddField(
            model_name='accessrule',
            name='priority',
            field=models.IntegerField(default=0, help_text="Une interdiction l'emporte sur les autorisations de priorité égale ou inférieure ; une autorisation de priorité supérieure l'emporte sur elle.", verbose_name='priorité'),
        ),
        migrations.AddField(
            model_name='accessrule',
            name='read_condition',
            field=models.JSONField(blank=True, null=True, validators=[layers.models.validate_condition], verbose_name='lecture : condition sur un attribut'),
        ),
        migrations.AddField(
            model_name='accessrule',
            name='users',
            field=models.ManyToManyField(blank=True, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='utilisateurs'),
        ),
        migrations.AddField(
            model_name='accessrule',
            name='valid_from',
            field=models.DateField(blank=True, null=True, verbose_name='valable à partir du'),
        ),
        migrations.AddField(
            model_name='accessrule',
            name='valid_until',
            field=models.DateField(blank=True, null=True, verbose_name="valable jusqu'au (inclus)"),
        ),
        migrations.AddField(
            model_name='accessrule',
            name='write_area',
            field=django.contrib.gis.db.models.fields.MultiPolygonField(blank=True, null=True, srid=2154, verbose_name='écriture : zone'),
        ),
        migrations.AddField(
            model_name='accessrule',
            name='write_condition',
            field=models.JSONField(blank=True, null=True, validators=[layers.models.validate_condition], verbose_name='écriture : condition sur un attribut'),
        ),
        migrations.AddField(
            model_name='accessrule',
            name='write_restriction',
            field=models.CharField(choices=[('none', 'tous les objets'), ('commune_territory', 'objets situés sur le territoire de sa commune'), ('commune_insee', 'objets dont le code INSEE est celui de sa commune')], default='none', max_length=20, verbose_name='écriture : commune'),
        ),
        migrations.AddField(
            model_name='layer',
            name='personal_columns',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=63), blank=True, default=list, help_text='Attributs de données personnelles (RGPD) : toute lecture en est consignée dans le journal « qui a lu quoi ».', size=None, verbose_name='données personnelles'),
        ),
        migrations.AlterField(
            model_name='accessrule',
            name='audience',
            field=models.CharField(choices=[('public', 'tout le monde, y compris le public anonyme'), ('authenticated', 'tout utilisateur connecté'), ('communes', 'les membres de communes données'), ('roles', 'les utilisateurs ayant un rôle donné'), ('users', 'des utilisateurs nommés'), ('groups', 'les membres de groupes donnés'), ('admins', 'les administrateurs SIG seulement')], max_length=20, verbose_name='qui'),
        ),
        migrations.AlterField(
            model_name='accessrule',
            name='permission',
            field=models.CharField(choices=[('view', 'consulter (carte, WMS, tuiles)'), ('download', 'télécharger (exports, WFS)'), ('edit', 'modifier (WFS-T, synchronisation)')], default='view', help_text='Raccourci : sans opérations cochées, celles du niveau.', max_length=10, verbose_name='niveau'),
        ),
        migrations.AlterField(
            model_name='accessrule',
            name='row_restriction',
            field=models.CharField(choices=[('none', 'tous les objets'), ('commune_territory', 'objets situés sur le territoire de sa commune'), ('commune_insee', 'objets dont le code INSEE est celui de sa commune')], default='none', max_length=20, verbose_name='lecture : commune'),
        ),
        migrations.CreateModel(
            name='PersonalDataRead',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('read_at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='lu le')),
                ('username', models.CharField(blank=True, max_length=150, verbose_name='identifiant')),
                ('layer_name', models.CharField(db_index=True, max_length=48, verbose_name='couche')),
                ('columns', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=63), size=None, verbose_name='colonnes personnelles')),
                ('rows', models.BigIntegerField(blank=True, null=True, verbose_name='objets')),
                ('protocol', models.CharField(max_length=30, verbose_name='protocole')),
                ('address', models.GenericIPAddressField(blank=True, null=True, verbose_name='adresse')),
                ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='utilisateur')),
            ],
            options={
                'verbose_name': 'lecture de données personnelles',
                'verbose_name_plural': 'lectures de données personnelles',
                'ordering': ['-read_at', '-pk'],
            },
        ),
        migrations.RunPython(operations_from_levels, levels_from_operations),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
    ]
