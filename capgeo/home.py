"""The home page: the intercommunality and its communes."""
from django.shortcuts import render

from territory.models import Commune


def home(request):
    communes = Commune.objects.only("insee", "name", "population").order_by("name")
    return render(request, "capgeo/home.html", {"communes": communes})
