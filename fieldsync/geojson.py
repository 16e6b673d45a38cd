"""Geometries on the wire: GeoJSON in WGS84 (RFC 7946: what a GPS and any client speak), with
the Lambert-93 coordinates alongside; the server stores Lambert-93.
"""
from django.contrib.gis.geos import Point


def geometry_out(point):
    wgs84 = point.transform(4326, clone=True)
    return {"type": "Point", "coordinates": [round(wgs84.x, 7), round(wgs84.y, 7)]}


def geometry_in(geojson):
    """A GeoJSON Point in WGS84 → a Lambert-93 Point (validated by the change serializers)."""
    point = Point(*geojson["coordinates"][:2], srid=4326)
    return point.transform(2154, clone=True)
