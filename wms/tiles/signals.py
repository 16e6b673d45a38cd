"""Tile caches follow the catalogue: purged when a layer's data or style changes.

Purges run once the transaction commits (files are not transactional, and a rolled-back edit
changed nothing).
- layer_data_changed (edits in place, with their bbox): the tiles over that extent only;
- a new publication that replaces the data (create, replace, append, restore): all the layer's
  tiles (in-place edits are recorded as EDIT publications and come with their bbox);
- a named style saved or deleted: that style's tiles only, unless it is (or was) the default
  style, whose tiles are the layer's own ("default" in WMTS): then all the layer's tiles;
- the layer deleted or no longer cacheable: all the layer's tiles.
"""
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save

from layers.events import layer_data_changed
from layers.models import Layer, Publication, Style

from .purge import purge_layer, purge_style


def _purge_on_commit(layer_name, bbox=None):
    transaction.on_commit(lambda: purge_layer(layer_name, bbox))


def on_layer_data_changed(sender, layer, bbox=None, **kwargs):
    _purge_on_commit(layer.name, tuple(bbox) if bbox else None)


def on_publication_saved(sender, instance, created, **kwargs):
    if created and instance.mode != Publication.Mode.EDIT:
        _purge_on_commit(instance.layer.name)


def on_layer_saved(sender, instance, created, **kwargs):
    if not created and not instance.cacheable:
        _purge_on_commit(instance.name)


def on_layer_deleted(sender, instance, **kwargs):
    _purge_on_commit(instance.name)


def remember_style_before(sender, instance, **kwargs):
    """Its stored name and default flag: a rename or a change of default moves tiles too."""
    before = Style.objects.filter(pk=instance.pk).values("name", "is_default").first() \
        if instance.pk else None
    instance._tiles_before = before


def on_style_changed(sender, instance, **kwargs):
    # By id: the layer may be on its way out (styles are deleted with it, before it).
    name = Layer.objects.filter(pk=instance.layer_id).values_list("name", flat=True).first()
    if not name:
        return
    before = getattr(instance, "_tiles_before", None) or {}
    if instance.is_default or before.get("is_default") or not _has_default(instance):
        _purge_on_commit(name)  # the layer's default tiles change
        return
    for style_name in {instance.name, before.get("name")} - {None}:
        transaction.on_commit(lambda s=style_name: purge_style(name, s))


def _has_default(style):
    """Whether the layer has a default style other than this one (without one, the first style
    by name is the default, maybe this one)."""
    return Style.objects.filter(layer_id=style.layer_id, is_default=True).exclude(
        pk=style.pk).exists()


def connect():
    layer_data_changed.connect(on_layer_data_changed, dispatch_uid="tiles_purge_data_changed")
    post_save.connect(on_publication_saved, sender=Publication, dispatch_uid="tiles_purge_publication")
    post_save.connect(on_layer_saved, sender=Layer, dispatch_uid="tiles_purge_layer_saved")
    post_delete.connect(on_layer_deleted, sender=Layer, dispatch_uid="tiles_purge_layer_deleted")
    pre_save.connect(remember_style_before, sender=Style, dispatch_uid="tiles_style_before")
    post_save.connect(on_style_changed, sender=Style, dispatch_uid="tiles_purge_style_saved")
    post_delete.connect(on_style_changed, sender=Style, dispatch_uid="tiles_purge_style_deleted")
