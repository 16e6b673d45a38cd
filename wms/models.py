"""Models of the wms app."""
