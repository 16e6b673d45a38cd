"""Versions of a layer: making a staging table live, recording the Publication, restoring.

Each publication swaps a complete table in (layers.tables.swap_in) inside one transaction with
the catalogue updates, so readers see the old version or the new one, and a failure leaves the
catalogue and the live table as they were. The table that was live moves to layers_history as
``<name>__v<N>`` (N: the version it held), which is what a restoration copies back.
"""
import secrets

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from ..models import DATA_SCHEMA, HISTORY_SCHEMA, STAGING_SCHEMA, Layer, Publication, Theme
from ..tables import archive_name, copy_table, qualified, refresh_layer_metadata, swap_in, table_exists
from .errors import PublishError
from .finalise import give_unique_names, merge_for_append


def drop_staging(*tables):
    with connection.cursor() as cursor:
        for table in tables:
            if table:
                cursor.execute(f"DROP TABLE IF EXISTS {qualified(STAGING_SCHEMA, table)}")


def check_publisher(user):
    if user is not None and not getattr(user, "is_gis_admin", False):
        raise PublishError(_("Seuls les administrateurs SIG peuvent publier ou restaurer des couches."))


def resolve_theme(theme):
    if theme in (None, ""):
        return None
    if isinstance(theme, Theme):
        return theme
    try:
        return Theme.objects.get(slug=str(theme))
    except Theme.DoesNotExist:
        slugs = ", ".join(Theme.objects.values_list("slug", flat=True))
        raise PublishError(_("Le thème « %(theme)s » n'existe pas ; thèmes : %(slugs)s.")
                           % {"theme": theme, "slugs": slugs}) from None


def check_mode(layer_name, mode):
    """Refuse early what cannot work: create over an existing layer, replace a missing one."""
    if mode not in (Publication.Mode.CREATE, Publication.Mode.REPLACE, Publication.Mode.APPEND):
        raise PublishError(_("Mode de publication inconnu « %(mode)s » : création, remplacement ou "
                             "ajout.") % {"mode": mode})
    layer = Layer.objects.filter(name=layer_name).first()
    if mode == Publication.Mode.CREATE and layer is not None:
        raise PublishError(_("La couche « %(name)s » existe déjà : choisissez un autre nom technique, "
                             "ou le mode remplacement ou ajout.") % {"name": layer_name})
    if mode != Publication.Mode.CREATE:
        if layer is None:
            raise PublishError(_("La couche « %(name)s » n'existe pas : utilisez le mode création.")
                               % {"name": layer_name})
        if not layer.is_vector:
            raise PublishError(_("La couche « %(name)s » est une couche distante : ses données ne "
                                 "se publient pas ici.") % {"name": layer_name})
        if mode == Publication.Mode.APPEND and not table_exists(DATA_SCHEMA, layer_name):
            raise PublishError(_("La couche « %(name)s » n'a pas de table de données : utilisez le "
                                 "mode remplacement.") % {"name": layer_name})
    return layer


def _latest(layer):
    return layer.publications.order_by("-version").first()


def _swap_and_record(layer, staging_table, *, user, mode, measured=None, **publication_fields):
    """Inside the caller's transaction: swap the table in, archive the previous one, record.
    measured: the staging table's (Summary, geometry type) when already measured."""
    latest = _latest(layer)
    version = (latest.version if latest else 0) + 1
    archive = None
    if table_exists(DATA_SCHEMA, layer.name):
        archive = archive_name(layer.name, latest.version if latest else 0)
    give_unique_names(STAGING_SCHEMA, staging_table)
    swap_in(staging_table, layer.name, archive_as=archive)
    if latest and archive:
        latest.history_table = archive
        latest.save(update_fields=["history_table"])
    refresh_layer_metadata(layer, measured=measured)
    return Publication.objects.create(
        layer=layer, version=version, mode=mode, published_by=user,
        feature_count=layer.feature_count, **publication_fields,
    )


def commit_publication(*, layer_name, staging_table, mode, user, title, theme, source_name,
                       checksum, report, measured=None):
    """Make a finalised staging table the layer's data; returns the Publication. measured: the
    staging table's (Summary, geometry type) when already measured (layers.tables.measure)."""
    merged = None
    try:
        with transaction.atomic():
            if mode == Publication.Mode.CREATE:
                try:
                    with transaction.atomic():
                        layer = Layer.objects.create(
                            name=layer_name, title=title or layer_name, theme=theme,
                            kind=Layer.Kind.VECTOR, created_by=user,
                            lineage=_("Publiée depuis « %(source)s ».") % {"source": source_name},
                        )
                except IntegrityError:
                    raise PublishError(_("La couche « %(name)s » existe déjà.")
                                       % {"name": layer_name}) from None
                if table_exists(DATA_SCHEMA, layer_name):
                    raise PublishError(_("Une table « %(name)s » existe déjà sans couche au "
                                         "catalogue ; un administrateur doit la supprimer.")
                                       % {"name": layer_name})
            else:
                layer = Layer.objects.select_for_update().filter(name=layer_name).order_by("pk").first()
                if layer is None:
                    raise PublishError(_("La couche « %(name)s » n'existe pas.") % {"name": layer_name})
                changed = []
                if title and title != layer.title:
                    layer.title, changed = title, changed + ["title"]
                if theme and theme != layer.theme:
                    layer.theme, changed = theme, changed + ["theme"]
                if changed:
                    layer.save(update_fields=changed + ["updated_at"])
            if mode == Publication.Mode.APPEND:
                with connection.cursor() as cursor:
                    # Writers wait until the swap; readers go on reading the live table.
                    cursor.execute(f"LOCK TABLE {qualified(DATA_SCHEMA, layer_name)} IN SHARE MODE")
                merged = f"{staging_table}m"
                appended, warnings = merge_for_append(layer_name, staging_table, merged)
                report["features_appended"] = appended
                report["warnings"] = report.get("warnings", []) + warnings
                table_to_swap = merged
            else:
                table_to_swap = staging_table
            publication = _swap_and_record(
                layer, table_to_swap, user=user, mode=mode, source_name=source_name,
                source_checksum=checksum or "", report=report,
                measured=measured if table_to_swap == staging_table else None,
            )
            publication.report["features_in_layer"] = publication.feature_count
            publication.save(update_fields=["report"])
    finally:
        drop_staging(merged)
    return publication


def restore_publication(publication, user):
    """Make an archived version live again, recorded as a new Publication (mode restore)."""
    check_publisher(user)
    layer = publication.layer
    latest = _latest(layer)
    if latest and latest.pk == publication.pk:
        raise PublishError(_("La version %(version)s est déjà la version en ligne.")
                           % {"version": publication.version})
    if not publication.history_table or not table_exists(HISTORY_SCHEMA, publication.history_table):
        raise PublishError(_("La version %(version)s n'est plus archivée : elle ne peut pas être "
                             "restaurée.") % {"version": publication.version})
    staging = f"{layer.name}__r{secrets.token_hex(4)}"
    try:
        with transaction.atomic():
            layer = Layer.objects.select_for_update().get(pk=layer.pk)
            copy_table(HISTORY_SCHEMA, publication.history_table, STAGING_SCHEMA, staging)
            return _swap_and_record(
                layer, staging, user=user, mode=Publication.Mode.RESTORE,
                source_name=publication.source_name, source_checksum=publication.source_checksum,
                restored_from=publication,
                report={"restored_version": publication.version,
                        "restored_from_table": publication.history_table},
            )
    finally:
        drop_staging(staging)
