"""WFS 2.0 / 1.1.0 and WFS-T over the catalogue, with django-gisserver (service.handle: the
requests /ows hands to the WFS)."""
