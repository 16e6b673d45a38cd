"""Side effects of catalogue changes that must happen whatever deleted the layer (admin, REST API).

The search vector is kept by a database trigger (migration 0003), not here.
"""
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import Layer
from .tables import drop_layer_tables


@receiver(post_delete, sender=Layer, dispatch_uid="layers_drop_deleted_layer_tables")
def drop_tables_of_deleted_layer(sender, instance, **kwargs):
    # DDL is transactional in PostgreSQL: if the deletion rolls back, so does the drop.
    if instance.is_vector:
        drop_layer_tables(instance.name)
    if instance.thumbnail:
        # Files are not transactional: remove the image only once the deletion is committed.
        storage, path = instance.thumbnail.storage, instance.thumbnail.name
        transaction.on_commit(lambda: storage.delete(path))
