"""The SPANC team's access rule on the published `spanc_installations` layer grants the writes
the field sync makes (insert, update attributes, update geometry): its pushes now obey the
layer's rules like a WFS-T edit (fieldsync.records.installation.check_layer_rights)."""
from django.db import migrations

WRITES = ["insert", "update_attributes", "update_geometry"]


def grant_field_writes(apps, schema_editor):
    AccessRule = apps.get_model("layers", "AccessRule")
    for rule in AccessRule.objects.filter(layer__name="spanc_installations", effect="allow",
                                          audience="roles",
                                          roles__contains=["spanc_inspector"]):
        operations = list(rule.operations or ["view", "download"])
        added = [op for op in WRITES if op not in operations]
        if added:
            rule.operations = operations + added
            rule.permission = "edit"
            rule.save(update_fields=["operations", "permission"])


class Migration(migrations.Migration):
    dependencies = [("fieldsync", "0005_syncbatch_failed_at"),
                    ("layers", "0011_taskworker")]

    operations = [migrations.RunPython(grant_field_writes, migrations.RunPython.noop)]
