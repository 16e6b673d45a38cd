"""What every field record type declares (RecordType), and the answers its writes may raise.

A record type is one module of fieldsync.records; the push, the pull, the conflicts and the
manager's actions only ever call these methods, in the registry's order, and never ask which
type they hold.
"""
from django.utils.translation import gettext as _t

from .. import scope
from ..models import PhotoBlob, RecordPhoto
from ..serializers import Unsure


class Rejected(Exception):
    """The change is refused (reasons in French); nothing of it is written."""

    def __init__(self, *reasons):
        super().__init__("; ".join(str(r) for r in reasons))
        self.reasons = [str(r) for r in reasons]


class Conflict(Exception):
    """The change was made on another version than the server's: its current record."""

    def __init__(self, entity, record, version):
        super().__init__(f"{entity} v{version}")
        self.entity = entity
        self.record = record
        self.version = version


class RecordType:
    """One kind of field record. Subclasses set the attributes and implement the methods that
    raise NotImplementedError; the others have a default that does nothing."""

    entity = ""            # its name on the wire ("entity" of a change, of a conflict)
    members = ""           # its member in the package and in the changes since a cursor
    position = 0           # its place in the registry: after the types its records refer to
    ops = frozenset()      # the operations a change may name
    model = None           # the Django model (uuid, version)
    data_serializer = None  # the DRF serializer of a change's `data` (its errors' wording)

    # --- who ------------------------------------------------------------------------------
    def admits(self, user):
        """May this user push and pull records of this type? (The sync API and the field app are
        open to whoever some type admits; a type's records are only sent to users it admits.)
        Default: the SPANC staff (fieldsync.scope)."""
        return scope.is_spanc_staff(user)

    # --- wire -------------------------------------------------------------------------------
    def fast_data(self, data):
        """The validated `data` in one pass over the dict, exactly as data_serializer would give
        it, or raise serializers.Unsure (then data_serializer decides); default: always unsure."""
        raise Unsure

    def out(self, obj, user):
        """The record's JSON shape on the wire, as this user may see it."""
        raise NotImplementedError

    # --- scope ------------------------------------------------------------------------------
    def visible(self, user):
        """The records the user may read (a queryset); outside it, one answers like unknown."""
        raise NotImplementedError

    def load(self, user, uuid):
        """The record as it is now, if the user may read it, ready for out(); else None."""
        raise NotImplementedError

    # --- push -------------------------------------------------------------------------------
    def apply(self, user, op, uuid, base_version, data, as_manager=False):
        """Apply one validated change in the caller's transaction: (record, superseded records),
        or raise Rejected / Conflict."""
        raise NotImplementedError

    def answer(self, obj):
        """Members of an "applied" answer (and of a duplicate's current state) besides the
        version and the record."""
        return {}

    def refreshed(self, user, uuids):
        """{uuid (str): members} to update in stored answers replayed for these records."""
        return {}

    def names(self, raw):
        """The record identifiers (as found in the raw change) a change of this type names."""
        return []

    def modifies(self, raw):
        """(entity, identifier) of the records a raw change of this type modifies."""
        return []

    def prepare(self, user, raws, modified):
        """Look up and lock at once what a chunk's changes of this type name (fieldsync.batching),
        leaving out what other changes of the chunk modify: `modified` {(entity, uuid): count}."""

    def write_pending(self, rows, unit):
        """Write the rows this type left pending in a chunk (`rows`: {name: {key: value}})."""

    def lock_for_resolution(self, uuid):
        """Take the record's locks, in the lock order, before a conflict on it is settled."""

    # --- conflicts --------------------------------------------------------------------------
    def lock_conflict(self, change):
        """Take the locks of what settling this conflict may write, in the lock order, before
        its SyncChange row (by default: lock_for_resolution of its record)."""
        self.lock_for_resolution(change.entity_uuid)

    def conflicts_visible(self, user):
        """A Q on SyncChange: the conflicts of this type that concern records the user may read
        (by default, those on a record of visible())."""
        from django.db.models import Q
        return Q(entity=self.entity, entity_uuid__in=self.visible(user).values("uuid"))

    def resubmits(self, conflict, targets):
        """True when a change modifying `targets` (uuids) may resend this conflict (`resubmits`):
        by default, a change of the conflict's record."""
        return conflict.entity_uuid in targets

    def conflict_subject(self, user, change):
        """The record a conflict is about, as it is now and as the user may read it (the one
        "keep the server's version" keeps), or None."""
        return self.load(user, change.entity_uuid)

    def take_client(self, manager, change, data):
        """Apply the field version of a conflict on top of the server's record, on behalf of the
        manager (in the caller's transaction, after lock_for_resolution): (record written,
        superseded records), or Rejected. By default an update of the record at its version."""
        current = self.model.objects.filter(uuid=change.entity_uuid).first()
        if current is None:
            raise Rejected(self.gone_message())
        return self.apply(manager, "update", change.entity_uuid, current.version, data,
                          as_manager=True)

    def gone_message(self):
        from django.utils.translation import gettext as _t
        return _t("L'objet de ce conflit n'existe plus.")

    # --- pull -------------------------------------------------------------------------------
    def package(self, user, assignments):
        """{member: records} of the offline package, for the user's assignments (controls)."""
        return {}

    def changed(self, user, uuids, others):
        """The records a device gets after a cursor: the changed ones it may see (`uuids`), and
        those that travel with the records of the types before it (`others`: {entity:
        queryset})."""
        return self.visible(user).filter(uuid__in=uuids)

    def serialise(self, queryset, user):
        """[out(record)] of a queryset, with its relations read at once."""
        raise NotImplementedError

    # --- photos (fieldsync.photos: the resumable upload) ---------------------------------------
    # A record announces its photos by SHA-256 and size; the bytes come by the upload. Default:
    # the links of RecordPhoto (any type); a type with its own link table overrides the three.
    def photo_links(self, user, sha256):
        """The links (querysets with `proven` and `blob_id`) of this type's records the user may
        read that show this photo."""
        return [RecordPhoto.objects.filter(entity=self.entity, blob__sha256=sha256,
                                           record_uuid__in=self.visible(user).values("uuid"))]

    def photo_received(self, user, sha256, path):
        """The photo's bytes (verified, at `path`) were received from this user: it now counts
        for his records of this type that show it (in the upload's transaction)."""
        for links in self.photo_links(user, sha256):
            links.filter(proven=False).update(proven=True)

    def photo_held(self, user, sha256, path):
        """The user already holds this photo (received for a record he may read): his own
        records of this type that list it missing count it from now on. Default: as received."""
        self.photo_received(user, sha256, path)

    def announce_photos(self, uuid, photos):
        """Link these announced photos ([{sha256, size, content_type, caption}]) to the record
        (RecordPhoto), the files created unverified when new; returns the links."""
        links = []
        for photo in photos:
            blob, _created = PhotoBlob.objects.get_or_create(
                sha256=photo["sha256"], defaults={"size": photo["size"], "content_type":
                                                  photo.get("content_type", "image/jpeg")})
            if blob.size != photo["size"]:
                raise Rejected(_t("La photo %(sha)s… a déjà été annoncée avec une autre "
                                  "taille.") % {"sha": photo["sha256"][:12]})
            link, _created = RecordPhoto.objects.get_or_create(
                entity=self.entity, record_uuid=uuid, blob=blob,
                defaults={"caption": photo.get("caption", "")})
            links.append(link)
        return links
