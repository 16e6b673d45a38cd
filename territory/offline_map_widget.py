"""Map widgets for the admin that work without internet access.

Django's OpenLayers widgets load OpenLayers from a CDN and draw remote tiles; these load the copy
installed from the npm registry and draw the commune boundaries served by the platform instead.
"""
from django.contrib.gis.forms.widgets import OpenLayersWidget


class OfflineMapWidget(OpenLayersWidget):
    template_name = "territory/offline_map_widget.html"
    map_srid = 3857

    class Media:
        extend = False  # replace, not add to, the CDN links of Django's widget
        css = {"all": ("vendor/ol/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol/ol.js", "gis/js/OLMapWidget.js")
