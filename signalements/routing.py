"""Where a report may be made and which service receives it.

- The point must be inside a commune of the territory (its commune is the report's commune).
- A category limited to some communes accepts points in those communes only; one limited to a zone
  layer accepts points inside a feature of that layer.
- Routing: the first ``RoutingRule`` (by priority) whose category (a sub-category matches its
  parent's rules too), commune and zone layer all match; else the category's default service
  (or its parent's); else the point's commune's service; else the intercommunality's service.

Zone layers are read through the access policy like any catalogue layer, as the anonymous public
(its FeatureSource, layers.features): routing must not depend on who reports, so a zone layer used for
reporting or routing is a public one (the administration checks it).
"""
from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.geos import Point
from django.db.models import Q
from django.utils.translation import gettext as _

from territory.models import Commune
from layers.access import AccessPolicy, LayerNotFound
from layers.tables import SRID

from .models import Category, ReportScope, RoutingRule, Service


class PlacementError(ValueError):
    """The point is not where this category may be reported (message for the reporter)."""


def commune_at(point):
    """The commune containing a point (EPSG:2154), or None outside the territory."""
    return Commune.objects.filter(geom__intersects=point).order_by("insee").first()


def point_in_zone_layer(layer, point):
    """Is the point inside a feature of this catalogue layer, as the public may read it?"""
    try:
        source = AccessPolicy.for_user(AnonymousUser()).source(layer)
    except LayerNotFound:
        return False
    # A 1 cm box around the point, as the feature source's area filter expects a polygon.
    box = Point(point.x, point.y, srid=SRID).buffer(0.01, quadsegs=1)
    return source.count(source.query(area=box.hexewkb.decode())) > 0


def check_placement(category, point):
    """The commune of the point, or PlacementError with a message in the user's language."""
    commune = commune_at(point)
    if commune is None:
        raise PlacementError(_("Ce point est en dehors du territoire de l'intercommunalité."))
    scoped = category if category.scope != ReportScope.TERRITORY or not category.parent_id \
        else category.parent
    if scoped.scope == ReportScope.COMMUNES and not scoped.communes.filter(pk=commune.pk).exists():
        names = ", ".join(scoped.communes.values_list("name", flat=True))
        raise PlacementError(_("« %(category)s » ne se signale que dans : %(communes)s.")
                             % {"category": category, "communes": names})
    if scoped.scope == ReportScope.ZONE and scoped.zone_layer_id \
            and not point_in_zone_layer(scoped.zone_layer, point):
        raise PlacementError(_("« %(category)s » ne se signale que dans les zones de la couche "
                               "« %(layer)s ».") % {"category": category,
                                                     "layer": scoped.zone_layer.title})
    return commune


def route(category, point, commune):
    """The service that receives a report of this category at this point."""
    categories = [category.pk] + ([category.parent_id] if category.parent_id else [])
    rules = (RoutingRule.objects.filter(Q(category__isnull=True) | Q(category__in=categories))
             .filter(Q(commune__isnull=True) | Q(commune=commune))
             .filter(service__active=True)
             .select_related("service", "zone_layer").order_by("priority", "id"))
    for rule in rules:
        if rule.zone_layer_id and not point_in_zone_layer(rule.zone_layer, point):
            continue
        return rule.service
    for candidate in (category, category.parent):
        if candidate is not None and candidate.default_service_id \
                and candidate.default_service.active:
            return candidate.default_service
    return (Service.objects.filter(commune=commune, active=True).order_by("id").first()
            or Service.objects.filter(commune__isnull=True, active=True).order_by("id").first())


def categories_for(commune=None):
    """Active leaf categories (those without active children), in their display order."""
    leaves = Category.objects.filter(active=True).exclude(children__active=True)
    return leaves.select_related("parent").order_by("parent__order", "parent__name", "order",
                                                   "name")
