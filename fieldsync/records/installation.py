"""The installation, a field record type: an ANC installation (place, owner, components).

Created in the field or planned from the catalogue; updated on its version; published as the
`spanc_installations` layer (with the latest validated verdict of its controls, never its owner);
its owner's personal data shown only to SPANC staff covering its commune (fieldsync.scope).
"""
from django.utils import timezone
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from layers import access_log
from layers.access import AccessDenied, AccessPolicy, LayerNotFound
from layers.features.columns import UnknownColumn
from layers.features.writing import OperationDenied, OutsideWriteFilter, ReadOnlyColumn
from layers.models import Layer, Permission
from territory.models import Commune

from .. import chunk, geojson, publication, scope, zones
from ..models import Component, ComponentType, Installation
from ..serializers import MAX_COMPONENTS, StrictSerializer, WireInteger
from .base import Conflict, RecordType, Rejected


# --- wire schema ---------------------------------------------------------------------------------
class PointSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=["Point"])
    coordinates = serializers.ListField(child=serializers.FloatField(), min_length=2,
                                        max_length=3)

    def validate_coordinates(self, value):
        lon, lat = value[0], value[1]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise serializers.ValidationError(
                _t("Coordonnées hors limites : longitude puis latitude en WGS84 attendues."))
        return value


class OwnerSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    address = serializers.CharField(max_length=300, allow_blank=True, required=False)
    phone = serializers.CharField(max_length=30, allow_blank=True, required=False)
    email = serializers.EmailField(max_length=254, allow_blank=True, required=False)


class ComponentSerializer(StrictSerializer):
    type = serializers.SlugField(max_length=50)
    volume_m3 = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=0,
                                         required=False, allow_null=True)
    approval_number = serializers.CharField(max_length=50, allow_blank=True, required=False)
    comment = serializers.CharField(max_length=300, allow_blank=True, required=False)


class InstallationDataSerializer(StrictSerializer):
    geometry = PointSerializer(required=False)
    address = serializers.CharField(max_length=300, allow_blank=True, required=False)
    parcels = serializers.ListField(child=serializers.CharField(max_length=20), max_length=50,
                                    required=False)
    owner = OwnerSerializer(required=False)
    capacity_eh = WireInteger(min_value=1, max_value=20000, required=False, allow_null=True)
    year_built = WireInteger(min_value=1900, required=False, allow_null=True)
    components = ComponentSerializer(many=True, required=False, max_length=MAX_COMPONENTS)

    def validate_year_built(self, value):
        if value is not None and value > timezone.localdate().year:
            raise serializers.ValidationError(_t("L'année de mise en service est dans le futur."))
        return value


def out(installation, user):
    data = {
        "id": str(installation.uuid),
        "version": installation.version,
        "commune": installation.commune.insee,
        "geometry": geojson.geometry_out(installation.location),
        "location_l93": [round(installation.location.x, 2), round(installation.location.y, 2)],
        "address": installation.address,
        "parcels": list(installation.parcels),
        "capacity_eh": installation.capacity_eh,
        "year_built": installation.year_built,
        "sanitary_zone": installation.sanitary_zone,
        "environmental_zone": installation.environmental_zone,
        "components": [
            {"type": c.type.code, "volume_m3": float(c.volume_m3) if c.volume_m3 is not None
             else None, "approval_number": c.approval_number, "comment": c.comment}
            for c in installation.components.all()
        ],
    }
    if scope.sees_owner(user, installation):
        data["owner"] = {
            "name": installation.owner_name, "address": installation.owner_address,
            "phone": installation.owner_phone, "email": installation.owner_email,
        }
    return data


# --- published layer ----------------------------------------------------------------------------
INSTALLATION_COLUMNS = [
    ("uuid", "uuid"), ("code_insee", "varchar(5)"), ("commune", "text"), ("adresse", "text"),
    ("parcelles", "text"), ("capacite_eh", "integer"), ("annee", "integer"),
    ("zone_sanitaire", "boolean"), ("zone_environnementale", "boolean"),
    ("dernier_controle", "date"), ("conclusion", "varchar(50)"), ("conclusion_libelle", "text"),
    ("conforme", "boolean"), ("travaux_obligatoires", "boolean"), ("echeance_travaux", "date"),
    ("prochain_controle", "date"), ("couleur", "varchar(7)"),
    ("proprietaire", "text"), ("telephone_proprietaire", "varchar(30)"),
]
# Personal data (RGPD): shown to the SPANC roles only, each read journaled (layers.access_log).
OWNER_COLUMNS = ["proprietaire", "telephone_proprietaire"]
# What the sync's `owner` and a visit report show of the owner, named as in the journal.
OWNER_READ = OWNER_COLUMNS + ["adresse_proprietaire", "courriel_proprietaire"]


def journal_owners(user, records):
    """Journal the owners shown in these sync records (their `owner` member), as one read of the
    published layer's personal data; the protocol is the caller's (access_log.reading_as)."""
    shown = sum(1 for record in records if "owner" in record)
    if shown:
        access_log.record_read(user, "spanc_installations", OWNER_READ, shown)
    return records


def journal_push_answer(user, answer):
    """Journal the owners a push answer shows: an installation's record (applied, duplicate) or
    the server's record of a conflict, each with its `owner` when the user may see it."""
    journal_owners(user, [
        member for result in answer.get("results", ())
        if result.get("entity") == "installation"
        for member in (result.get("record"), result.get("server_record"))
        if isinstance(member, dict)])
    return answer

# The latest validated verdict of each installation (a correction counts once validated).
INSTALLATION_SELECT = """
SELECT i.id, i.uuid, c.insee, c.name, i.address, array_to_string(i.parcels, ', '),
       i.capacity_eh, i.year_built, i.sanitary_zone, i.environmental_zone,
       last.visit_date, last.code, last.label, last.compliant, coalesce(last.works_required, false),
       last.works_due_on, last.next_control_on, coalesce(last.color, '#777777'),
       nullif(i.owner_name, ''), nullif(i.owner_phone, ''), i.location
FROM fieldsync_installation i
JOIN territory_commune c ON c.id = i.commune_id
LEFT JOIN LATERAL (
    SELECT ctl.visit_date, cc.code, cc.label, cc.compliant, ctl.works_required,
           ctl.works_due_on, ctl.next_control_on, cc.color
    FROM fieldsync_control ctl JOIN fieldsync_conclusion cc ON cc.id = ctl.conclusion_id
    WHERE ctl.installation_id = i.id AND ctl.status = 'validated'
      AND NOT EXISTS (SELECT 1 FROM fieldsync_control n
                      WHERE n.supersedes_id = ctl.id AND n.status = 'validated')
    ORDER BY ctl.visit_date DESC NULLS LAST, ctl.id DESC LIMIT 1
) last ON true
WHERE {where}
"""

LAYER = publication.register(publication.PublishedLayer(
    name="spanc_installations",
    title="Installations d'assainissement non collectif (SPANC)",
    abstract="Installations d'ANC contrôlées par le SPANC, avec la dernière conclusion "
             "validée (grille de l'annexe II de l'arrêté du 27 avril 2012), l'échéance des "
             "travaux et la date du prochain contrôle. Sans données personnelles.",
    columns=INSTALLATION_COLUMNS, select=INSTALLATION_SELECT, key="i.id",
    personal_columns=OWNER_COLUMNS,
    # What the SPANC team's rule lets the field sync write (check_layer_rights below).
    field_operations=["insert", "update_attributes", "update_geometry"]))


# --- scope and locks (first in the lock order) ---------------------------------------------------
def field_area(user):
    """Installations a field user may edit or attach a new control to (fieldsync.scope)."""
    return scope.field_installations(user)


def lock_installation(pk):
    """Take the installation's row lock (first in the lock order); returns the fresh row."""
    return Installation.objects.select_for_update().get(pk=pk)


def lock_installations(pks):
    """Lock several installations, in id order (two multi-row lockers never cross)."""
    return list(Installation.objects.select_for_update().filter(pk__in=list(pks)).order_by("pk"))


def scoped(user, uuid, shared=False):
    prepared = chunk.take(("installation", uuid), keep=True) if shared else None
    if prepared is not None:
        return prepared
    # The scope query may use DISTINCT or joins (not lockable): find the id, then lock the row.
    pk = field_area(user).filter(uuid=uuid).values_list("pk", flat=True).first()
    if pk is None:
        raise Rejected(_t("Installation inconnue ou hors de vos attributions."))
    return lock_installation(pk)


def check_version(record_type, obj, base_version, user):
    """Conflict (with the server's record as the user may see it) unless the change was made on
    the server's version."""
    if base_version != obj.version:
        raise Conflict(record_type.entity, record_type.out(obj, user), obj.version)


# --- apply ---------------------------------------------------------------------------------------
def _locate(user, geometry):
    point = geojson.geometry_in(geometry)
    commune = Commune.objects.filter(geom__intersects=point).first()
    if commune is None:
        raise Rejected(_t("L'emplacement est hors du territoire de l'intercommunalité."))
    if not (user.is_gis_admin or user.commune_id in (None, commune.pk)):
        raise Rejected(_t("L'emplacement est hors de votre commune."))
    return point, commune


def _set_installation_fields(installation, data):
    for field in ("address", "parcels", "capacity_eh", "year_built"):
        if field in data:
            setattr(installation, field, data[field])
    owner = data.get("owner")
    if owner is not None:
        for key in ("name", "address", "phone", "email"):
            if key in owner:
                setattr(installation, f"owner_{key}", owner[key])


def _set_components(installation, components):
    types = {t.code: t for t in ComponentType.objects.filter(active=True)}
    unknown = sorted({c["type"] for c in components} - set(types))
    if unknown:
        raise Rejected(*[_t("Type de composant inconnu : « %(code)s ».") % {"code": code}
                         for code in unknown])
    for component in components:
        if types[component["type"]].approved_device and not component.get("approval_number"):
            raise Rejected(_t("Le dispositif agréé « %(label)s » demande son numéro "
                              "d'agrément.") % {"label": types[component["type"]].label})
    installation.components.all().delete()
    Component.objects.bulk_create([
        Component(installation=installation, type=types[c["type"]], order=index,
                  volume_m3=c.get("volume_m3"), approval_number=c.get("approval_number", ""),
                  comment=c.get("comment", ""))
        for index, c in enumerate(components)
    ])


# --- the published layer's rights (issue 14) ------------------------------------------------------
# A field change writes the `spanc_installations` layer (its row is published in the change's
# transaction): the layer's access rules decide it as they decide a WFS-T transaction — the
# operation (insert, update_attributes, update_geometry), the columns it sets (read-write, not
# read-only or hidden) and the write filter, before and after. Checked by the feature source
# (layers.features.writing.check_write) on the row as it will be published; refused, nothing of
# the change stays (its savepoint).
DATA_COLUMNS = {"address": ["adresse"], "parcels": ["parcelles"], "capacity_eh": ["capacite_eh"],
                "year_built": ["annee"]}
OWNER_DATA_COLUMNS = {"name": "proprietaire", "address": "proprietaire", "email": "proprietaire",
                      "phone": "telephone_proprietaire"}
OPERATION_REFUSALS = {
    "insert": _("Vos droits sur la couche « %(layer)s » ne permettent pas d'y ajouter une "
                "installation."),
    "update_attributes": _("Vos droits sur la couche « %(layer)s » ne permettent pas d'en "
                           "modifier les attributs."),
    "update_geometry": _("Vos droits sur la couche « %(layer)s » ne permettent pas d'y déplacer "
                         "une installation."),
}


def _layer_source(user):
    """The user's EDIT source of the published layer (once per chunk), None without any right to
    write it, or False when the layer is not published yet (nothing to obey)."""
    def decide():
        layer = Layer.objects.filter(name=LAYER.name).first()
        if layer is None:
            return False
        try:
            return AccessPolicy.for_user(user).source(layer, Permission.EDIT)
        except (AccessDenied, LayerNotFound):
            return None
    return chunk.cached(("layer_source", LAYER.name, user.pk), decide)


def check_layer_rights(user, installation, data, created):
    """Refuse (Rejected) a change the layer's rules do not let the user write (see above)."""
    columns = {}
    for field, names in DATA_COLUMNS.items():
        if field in data:
            columns.update((name, field) for name in names)
    for key in (data.get("owner") or {}):
        columns[OWNER_DATA_COLUMNS[key]] = f"owner.{key}"
    operations = ["insert"] if created else (
        (["update_attributes"] if columns else []) +
        (["update_geometry"] if "geometry" in data else []))
    if not operations:
        return
    source = _layer_source(user)
    if source is False:
        return
    if source is None:
        raise Rejected(OPERATION_REFUSALS[operations[0]] % {"layer": LAYER.name})
    proposed = (f"SELECT * FROM ({INSTALLATION_SELECT.format(where='i.id = %s')}) AS r("
                + ", ".join(["fid", *(n for n, _type in INSTALLATION_COLUMNS), "geom"]) + ")",
                [installation.pk])
    try:
        source.check_write(operations, list(columns), None if created else installation.pk,
                           proposed)
    except OperationDenied as refused:
        raise Rejected(OPERATION_REFUSALS[refused.operation] % {"layer": LAYER.name}) from None
    except (ReadOnlyColumn, UnknownColumn) as refused:
        raise Rejected(_t("data.%(field)s : la colonne « %(column)s » de la couche « %(layer)s » "
                          "n'est pas modifiable avec vos droits.")
                       % {"field": columns[refused.name], "column": refused.name,
                          "layer": LAYER.name}) from None
    except OutsideWriteFilter:
        raise Rejected(_t("Installation hors des objets que vos droits sur la couche « %(layer)s » "
                          "permettent de modifier (filtre d'écriture), avant ou après cette "
                          "modification.") % {"layer": LAYER.name}) from None


def create(user, uuid, data):
    if not (user.is_gis_admin or user.role in scope.SPANC_ROLES):
        raise Rejected(_t("Vous n'avez pas le droit de créer une installation."))
    if Installation.objects.filter(uuid=uuid).exists():
        raise Rejected(_t("Une installation porte déjà cet identifiant."))
    if "geometry" not in data:
        raise Rejected(_t("data.geometry : L'emplacement est obligatoire pour une création."))
    point, commune = _locate(user, data["geometry"])
    installation = Installation(uuid=uuid, location=point, commune=commune, created_by=user)
    _set_installation_fields(installation, data)
    zones.compute_zones(installation)
    installation.save()
    if "components" in data:
        _set_components(installation, data["components"])
    check_layer_rights(user, installation, data, created=True)
    publication.publish({LAYER.name: [installation.pk]})
    return installation


def update(user, uuid, base_version, data):
    installation = scoped(user, uuid)
    check_version(TYPE, installation, base_version, user)
    if "owner" in data and not scope.sees_owner(user, installation):
        raise Rejected(_t("Vous n'avez pas accès aux données du propriétaire."))
    _set_installation_fields(installation, data)
    if "geometry" in data:
        installation.location, installation.commune = _locate(user, data["geometry"])
        zones.compute_zones(installation)
    installation.version += 1
    installation.save()
    if "components" in data:
        _set_components(installation, data["components"])
    check_layer_rights(user, installation, data, created=False)
    publication.publish({LAYER.name: [installation.pk]})  # and the rows that follow it
    return installation


class InstallationRecord(RecordType):
    entity = "installation"
    members = "installations"
    position = 10
    ops = ("create", "update")
    model = Installation
    data_serializer = InstallationDataSerializer

    def out(self, obj, user):
        return out(obj, user)

    def visible(self, user):
        return scope.installations(user)

    def load(self, user, uuid):
        return self.visible(user).filter(uuid=uuid).prefetch_related("components__type").first()

    def apply(self, user, op, uuid, base_version, data, as_manager=False):
        if op == "create":
            return create(user, uuid, data), []
        return update(user, uuid, base_version, data), []

    def names(self, raw):
        return [raw.get("id")]

    def modifies(self, raw):
        return [(self.entity, raw.get("id"))]

    def lock_for_resolution(self, uuid):
        target = Installation.objects.filter(uuid=uuid).values_list("pk", flat=True).first()
        if target:
            lock_installation(target)

    def photo_links(self, user, sha256):
        return []  # an installation shows no photo (its controls do)

    def package(self, user, assignments):
        installations = Installation.objects.filter(pk__in=assignments.values("installation"))
        return {self.members: self.serialise(installations, user)}

    def changed(self, user, uuids, others):
        # A control's installation travels with it: a new assignment is usable offline at once.
        travelling = others.get("control")
        if travelling is None:
            return self.visible(user).filter(uuid__in=uuids)
        from django.db.models import Q
        return self.visible(user).filter(Q(uuid__in=uuids) |
                                         Q(pk__in=travelling.values("installation")))

    def serialise(self, queryset, user):
        queryset = queryset.select_related("commune").prefetch_related("components__type")
        return journal_owners(user, [out(installation, user) for installation in queryset])


TYPE = InstallationRecord()
