"""Staff publishing pages (/catalogue/publier/…)."""
app_name = "publishing"
urlpatterns: list = []
