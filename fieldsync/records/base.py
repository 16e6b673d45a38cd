"""What every field record type declares (RecordType), and the answers its writes may raise.

A record type is one module of fieldsync.records; the push, the pull, the conflicts and the
manager's actions only ever call these methods, in the registry's order, and never ask which
type they hold.
"""
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
