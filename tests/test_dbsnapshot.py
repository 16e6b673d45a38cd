"""The snapshot restore (tests/dbsnapshot.py, conftest.py): after a test that commits, the database
is put back exactly as the session's set-up left it."""
import pytest
from django.db import connection

from accounts.models import User
from territory.models import Commune
from layers.models import Layer


def snapshot(request):
    from conftest import SNAPSHOT

    return request.config.stash[SNAPSHOT]


@pytest.mark.django_db(transaction=True)
def test_restore_puts_back_rows_tables_and_structures(request):
    snap = snapshot(request)
    with connection.cursor() as cursor:
        assert snap.differences(cursor) == []
        # Rows changed, deleted and added, in Django's tables and in a layer table.
        Commune.objects.filter(insee="44069").update(name="Guérande (modifiée)")
        User.objects.filter(username="agent.guerande").delete()
        Layer.objects.filter(name="mairies").delete()
        cursor.execute('DELETE FROM layers_data."zones_activite" WHERE fid % 2 = 0')
        cursor.execute('UPDATE layers_data."installations_anc" SET conformite = NULL')
        # A demo layer table dropped (with its layer, above), another replaced by a copy,
        # another altered, a new one created.
        cursor.execute('DROP TABLE IF EXISTS layers_data."mairies"')
        cursor.execute('ALTER TABLE layers_data."installations_anc" RENAME TO "ancien"')
        cursor.execute('CREATE TABLE layers_data."installations_anc" AS TABLE layers_data."ancien"')
        cursor.execute('ALTER TABLE layers_data."communes" ADD COLUMN extra integer')
        cursor.execute('CREATE INDEX zz_test_index ON layers_data."reseau_fibre" (fid)')
        cursor.execute('CREATE TABLE layers_data."intrus" (fid bigserial PRIMARY KEY)')
        cursor.execute("CREATE VIEW public.zz_test_view AS SELECT 1 AS one")
        # A write the marks cannot see: the dirty trigger disabled first.
        cursor.execute("ALTER TABLE territory_townhall DISABLE TRIGGER zz_test_snapshot_dirty")
        cursor.execute("UPDATE territory_townhall SET phone = '00'")
        assert len(snap.differences(cursor)) >= 10
        snap.restore(connection)
        assert snap.differences(cursor) == []
        assert Commune.objects.get(insee="44069").name == "Guérande"
        assert User.objects.filter(username="agent.guerande").exists()


@pytest.mark.django_db(transaction=True)
def test_keys_and_the_catalogue_version_never_go_back(request):
    """Caches of the test process key on them: a key or a version seen once never comes back
    with other contents."""
    snap = snapshot(request)

    def version():
        with connection.cursor() as cursor:
            cursor.execute("SELECT version FROM wms_catalogue_version")
            return cursor.fetchone()[0]

    before = version()
    created = User.objects.create_user("zz.cle", password="x")
    Layer.objects.filter(name="communes").update(title="Autre titre")
    assert version() > before
    seen = version()
    snap.restore(connection)
    assert version() > seen
    assert User.objects.create_user("zz.cle", password="x").pk > created.pk
    with connection.cursor() as cursor:
        # Apart from the counter, the rows are the snapshot's again (but for the new user).
        assert snap.differences(cursor) == [
            'table "public"."accounts_user": 1 rows not in the snapshot, 0 rows of the snapshot '
            'missing']


@pytest.mark.django_db(transaction=True)
def test_a_test_that_commits_is_undone_afterwards(request):
    """Together with the next test: this one commits, the next one finds nothing of it."""
    User.objects.create_user("zz.trace", password="x")
    Layer.objects.filter(name="communes").update(title="Titre modifié")
    with connection.cursor() as cursor:
        cursor.execute('TRUNCATE layers_data."communes"')
        assert snapshot(request).differences(cursor) != []


@pytest.mark.django_db(transaction=True)  # so run right after the one above
def test_the_next_test_starts_from_the_snapshot(request):
    assert not User.objects.filter(username="zz.trace").exists()
    assert Layer.objects.get(name="communes").title == "Communes de Cap Atlantique"
    with connection.cursor() as cursor:
        cursor.execute('SELECT count(*) FROM layers_data."communes"')
        assert cursor.fetchone()[0] == 15
        assert snapshot(request).differences(cursor) == []


@pytest.fixture(scope="class")
def committed_for_the_class(django_db_setup, django_db_blocker):
    """Committed once for a class of rolled-back tests (as the export tests do for ogr2ogr), and
    deliberately not cleaned up: the end of the class puts the database back."""
    with django_db_blocker.unblock():
        User.objects.create_user("zz.classe", password="x")


@pytest.mark.django_db
@pytest.mark.usefixtures("committed_for_the_class")
class TestDataCommittedForAClass:
    """Runs before the transactional tests above (pytest-django's order), which then find the
    database identical to the snapshot again."""

    def test_first_test_sees_it(self):
        assert User.objects.filter(username="zz.classe").exists()

    def test_second_test_still_sees_it(self):
        assert User.objects.filter(username="zz.classe").exists()

