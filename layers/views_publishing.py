"""Staff publishing pages: upload form, live job page, layer history with restoration.

Only GIS administrators reach them (others: login page, or 403 when logged in). The import
itself runs in the background worker (layers.jobs); the job page polls a small JSON status.
"""
import os
import tempfile
from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from .jobs import discard_orphan_uploads, submit_import
from .models import LAYER_NAME_RE, ImportJob, Layer, Publication, Theme
from .publishing import PublishError, restore_publication
from .publishing.uploads import upload_max_bytes


def gis_admin_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not getattr(request.user, "is_gis_admin", False):
            raise PermissionDenied(_t("Page réservée aux administrateurs SIG."))
        return view(request, *args, **kwargs)
    return wrapper


class PublishForm(forms.Form):
    file = forms.FileField(label=_("Fichier"), help_text=_(
        "GeoPackage (.gpkg), Shapefile zippé (.zip), GeoJSON (.geojson) ou CSV (.csv)."))
    name = forms.RegexField(
        label=_("Nom technique"), regex=LAYER_NAME_RE, max_length=48,
        help_text=_("Lettres minuscules sans accent, chiffres et « _ » ; par exemple zones_activite."),
        error_messages={"invalid": _("Lettres minuscules sans accent, chiffres et « _ », en "
                                     "commençant par une lettre.")},
    )
    title = forms.CharField(label=_("Titre"), max_length=200, required=False)
    theme = forms.ModelChoiceField(label=_("Thème"), queryset=Theme.objects.all(),
                                   to_field_name="slug", required=False)
    mode = forms.ChoiceField(label=_("Mode"), choices=[
        (Publication.Mode.CREATE, _("création d'une nouvelle couche")),
        (Publication.Mode.REPLACE, _("remplacement des données d'une couche")),
        (Publication.Mode.APPEND, _("ajout d'objets à une couche")),
    ])
    source_layer = forms.CharField(label=_("Couche du GeoPackage"), max_length=200, required=False,
                                   help_text=_("Si le fichier contient plusieurs couches."))
    srs = forms.CharField(label=_("Système de coordonnées"), max_length=20, required=False,
                          help_text=_("Seulement si le fichier n'en déclare pas : EPSG:2154, "
                                      "EPSG:4326…"))

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        if uploaded.size > upload_max_bytes():
            raise forms.ValidationError(
                _t("Le fichier pèse %(size)s, au-delà de la limite de %(limit)s.")
                % {"size": filesizeformat(uploaded.size), "limit": filesizeformat(upload_max_bytes())})
        return uploaded


def _local_copy(uploaded):
    """A path to the upload: Django's own temporary file, or one written in chunks."""
    if hasattr(uploaded, "temporary_file_path"):
        return uploaded.temporary_file_path(), False
    handle = tempfile.NamedTemporaryFile(delete=False, suffix=os.path.splitext(uploaded.name)[1])
    with handle:
        for chunk in uploaded.chunks():
            handle.write(chunk)
    return handle.name, True


@gis_admin_required
def publish(request):
    form = PublishForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        path, remove = _local_copy(data["file"])
        try:
            job = submit_import(
                user=request.user, uploaded_path=path, source_name=data["file"].name,
                layer_name=data["name"], title=data["title"] or None, theme=data["theme"],
                srs=data["srs"] or None, source_layer=data["source_layer"] or None, mode=data["mode"],
            )
        except PublishError as error:
            form.add_error(None, str(error))
        else:
            return redirect("publishing:job", job_id=job.pk)
        finally:
            if remove:
                os.unlink(path)
    jobs = ImportJob.objects.select_related("created_by", "layer")[:20]
    status = 400 if form.errors else 200
    return render(request, "layers/publishing/form.html", {"form": form, "jobs": jobs}, status=status)


def _job_state(job):
    return {
        "id": job.pk,
        "status": job.status,
        "status_label": job.get_status_display(),
        "progress": job.progress,
        "message": job.message,
        "finished": job.status in (ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED),
        "layer": job.layer_name,
        "history_url": reverse("publishing:history", args=[job.layer_name]) if job.layer_id else None,
    }


@gis_admin_required
def job_detail(request, job_id):
    job = get_object_or_404(ImportJob.objects.select_related("created_by", "publication"), pk=job_id)
    mode = job.options.get("mode", Publication.Mode.CREATE)
    mode_label = Publication.Mode(mode).label if mode in Publication.Mode.values else mode
    return render(request, "layers/publishing/job.html",
                  {"job": job, "state": _job_state(job), "mode_label": mode_label})


@gis_admin_required
def job_status(request, job_id):
    job = get_object_or_404(ImportJob, pk=job_id)
    if job.finished_at is not None:
        discard_orphan_uploads()  # its received file, if its worker could not remove it
    return JsonResponse(_job_state(job), headers={"Cache-Control": "no-store"})


@gis_admin_required
def history(request, name):
    layer = get_object_or_404(Layer, name=name, kind=Layer.Kind.VECTOR)
    publications = list(layer.publications.select_related("published_by", "restored_from"))
    live = publications[0].pk if publications else None
    return render(request, "layers/publishing/history.html",
                  {"layer": layer, "publications": publications, "live": live})


@require_POST
@gis_admin_required
def restore(request, publication_id):
    publication = get_object_or_404(Publication.objects.select_related("layer"), pk=publication_id)
    try:
        restored = restore_publication(publication, request.user)
    except PublishError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _t("Version %(old)s restaurée : elle est en ligne comme version "
                                     "%(new)s.") % {"old": publication.version, "new": restored.version})
    return redirect("publishing:history", name=publication.layer.name)
