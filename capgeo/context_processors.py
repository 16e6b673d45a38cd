from django.conf import settings


def platform(request):
    return {"intercommunality_name": settings.CAPGEO_INTERCOMMUNALITY_NAME}
