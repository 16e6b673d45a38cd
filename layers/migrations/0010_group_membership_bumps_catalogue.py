"""A change of group membership changes rights (rules may name groups): it bumps the catalogue
version like a change to the rules themselves (migration wms 0001), so the access policy reads
the memberships once per version (layers.access.rule_facts) instead of once per request, and
caches keyed by audience follow on the next request."""
from django.conf import settings
from django.db import migrations

CREATE = """
CREATE TRIGGER wms_catalogue_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
ON accounts_user_groups FOR EACH STATEMENT EXECUTE FUNCTION wms_bump_catalogue_version();
"""
DROP = "DROP TRIGGER IF EXISTS wms_catalogue_version ON accounts_user_groups;"


class Migration(migrations.Migration):
    dependencies = [
        ("layers", "0009_access_rules_fine_grained"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
