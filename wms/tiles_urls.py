from django.urls import re_path

from .tiles.views_mapproxy import mapproxy
from .tiles.views_mvt import vector_tile

app_name = "tiles"
urlpatterns = [
    # Negative or huge numbers are matched too, so the view answers 400 (out of the grid), not 404.
    re_path(r"^tiles/(?P<layer>[^/]+)/(?P<z>-?\d{1,12})/(?P<x>-?\d{1,12})/(?P<y>-?\d{1,12})\.mvt$",
            vector_tile, name="mvt"),
    re_path(r"^mapproxy/(?P<path>.*)$", mapproxy, name="mapproxy"),
]
