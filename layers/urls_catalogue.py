"""Catalogue pages (/catalogue/)."""
app_name = "catalogue"
urlpatterns: list = []
