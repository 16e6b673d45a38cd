"""What the map engine keeps up to date when the catalogue changes: layer thumbnails follow a new
publication and the default style (connected by maps.apps).

Mapnik is imported with the first drawing, not when the application starts.
"""
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from layers.events import layer_published
from layers.models import Layer, Style


def refresh_thumbnail(layer):
    from .thumbnails import refresh_thumbnail as draw_again

    return draw_again(layer)


def on_layer_published(sender, layer, **kwargs):
    if getattr(settings, "CAPGEO_MEDIA_READ_ONLY", False):
        return  # a worker that may not write MEDIA_ROOT: the web draws it when next shown
    refresh_thumbnail(layer)  # the new data, in the layer's default style


def on_style_changed(sender, instance, **kwargs):
    """A style saved or deleted: once committed, the layer's thumbnail follows its default style."""
    layer = Layer.objects.filter(pk=instance.layer_id).first()
    if layer is not None and layer.is_vector:
        transaction.on_commit(lambda: refresh_thumbnail(layer))


def connect():
    layer_published.connect(on_layer_published, dispatch_uid="thumbnail_layer_published")
    post_save.connect(on_style_changed, sender=Style, dispatch_uid="thumbnail_style_saved")
    post_delete.connect(on_style_changed, sender=Style, dispatch_uid="thumbnail_style_deleted")
