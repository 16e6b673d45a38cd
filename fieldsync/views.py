"""SPANC manager screens: campaigns, assignments, validation and conflicts (French)."""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from territory.models import Commune

from . import campaigns, planning, review, scope
from .conflicts import current_server_state, open_conflicts, resolve_conflict
from .actions import ActionRefused
from .records import control as control_type
from .models import Campaign, ControlKind, ControlStatus


def manager_required(view):
    @login_required
    def wrapped(request, *args, **kwargs):
        if not scope.is_manager(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)
    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@manager_required
def dashboard(request):
    controls = scope.controls(request.user)
    campaigns = Campaign.objects.filter(controls__in=controls).distinct().annotate(
        total=Count("controls", distinct=True),
        done=Count("controls", filter=Q(controls__status=ControlStatus.VALIDATED), distinct=True),
    )
    to_validate = controls.filter(status=ControlStatus.SUBMITTED).select_related(
        "inspector", "kind").order_by("submitted_at")
    return render(request, "fieldsync/dashboard.html", {
        "campaigns": campaigns, "to_validate": to_validate,
        "conflict_count": open_conflicts(request.user).count(),
    })


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Nom de la campagne"), max_length=200)
    kind = forms.ModelChoiceField(label=_("Nature des contrôles"),
                                  queryset=ControlKind.objects.filter(active=True))
    communes = forms.ModelMultipleChoiceField(label=_("Communes"), required=False,
                                              queryset=Commune.objects.all(),
                                              to_field_name="insee",
                                              widget=forms.CheckboxSelectMultiple)
    area = forms.CharField(
        label=_("Et/ou zone dessinée (polygone GeoJSON)"), required=False,
        help_text=_("Dessinez-la sur la carte, ou collez un GeoJSON en WGS 84 (ou en Lambert-93 "
                    "avec un membre « crs » EPSG:2154)."),
        widget=forms.Textarea(attrs={"rows": 3}))
    due_before = forms.DateField(label=_("Seulement les installations à contrôler avant le"),
                                 required=False, widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("Fin de la campagne"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))

    def clean_area(self):
        return planning.parse_area(self.cleaned_data["area"])


@manager_required
def campaign_new(request):
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign, count = campaigns.plan_campaign(
                request.user, data["name"], data["kind"], list(data["communes"]), data["area"],
                data["due_before"], None, data["ends_on"])
        except ActionRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, _t("%(count)d contrôle(s) planifié(s).") % {"count": count})
            return redirect("spanc:campaign", pk=campaign.pk)
    return render(request, "fieldsync/campaign_new.html", {"form": form})


@manager_required
def campaign_detail(request, pk):
    visible = scope.controls(request.user).filter(campaign=pk)
    campaign = Campaign.objects.filter(pk=pk).filter(
        Q(pk__in=visible.values("campaign")) | Q(created_by=request.user)).first()
    if campaign is None:  # another commune's campaign: like an unknown one
        raise Http404
    controls = scope.controls(request.user).filter(campaign=campaign).select_related(
        "installation__commune", "inspector", "conclusion").order_by(
        "installation__commune__name", "installation__address")
    if request.method == "POST":
        chosen = controls.filter(uuid__in=request.POST.getlist("controls"))
        inspector = campaigns.inspectors().filter(pk=request.POST.get("inspector")).first()
        if inspector is None or not chosen:
            messages.error(request, _t("Choisissez des contrôles et un contrôleur."))
        else:
            try:
                count = campaigns.assign(request.user, list(chosen), inspector)
                messages.success(request, _t("%(count)d contrôle(s) attribué(s) à %(name)s.")
                                 % {"count": count, "name": inspector.get_full_name()})
            except ActionRefused as refused:
                messages.error(request, str(refused))
        return redirect("spanc:campaign", pk=pk)
    return render(request, "fieldsync/campaign_detail.html", {
        "campaign": campaign, "controls": controls,
        "inspectors": campaigns.inspectors(),
    })


@manager_required
def control_detail(request, uuid):
    control = scope.controls(request.user).filter(uuid=uuid).select_related(
        "installation__commune", "kind", "inspector", "conclusion", "works_deadline").first()
    if control is None:
        raise Http404
    if request.method == "POST":
        try:
            review.decide(request.user, control,
                                      request.POST.get("decision") == "validate",
                                      request.POST.get("reason", ""))
            messages.success(request, _t("Décision enregistrée."))
        except ActionRefused as refused:
            messages.error(request, str(refused))
        return redirect("spanc:control", uuid=uuid)
    return render(request, "fieldsync/control_detail.html", {
        "control": control, "findings": control.findings.select_related("item"),
        "photos": control.photos.select_related("blob"),
        "missing": control_type.missing_photos(control),
        "sees_owner": scope.sees_owner(request.user, control.installation),
    })


@manager_required
def conflicts(request):
    return render(request, "fieldsync/conflicts.html",
                  {"conflicts": open_conflicts(request.user)})


@manager_required
def conflict_detail(request, change_id):
    change = open_conflicts(request.user).filter(pk=change_id).first()
    if change is None:
        raise Http404
    if request.method == "POST":
        try:
            resolve_conflict(request.user, change,
                                                request.POST.get("keep") == "client")
            messages.success(request, _t("Conflit réglé."))
            return redirect("spanc:conflicts")
        except ActionRefused as refused:
            messages.error(request, str(refused))
    # The server's record as it is now: "keep the server's version" keeps this one, not the
    # one stored when the conflict arose.
    server = current_server_state(request.user, change)[1] or {}
    client = change.data.get("data", {})
    keys = sorted(set(client) | (set(server) & set(client)))
    rows = [{"field": key, "client": client.get(key), "server": server.get(key)} for key in keys]
    return render(request, "fieldsync/conflict_detail.html", {"change": change, "rows": rows})
