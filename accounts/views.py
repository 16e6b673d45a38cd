"""The user's own page (/compte/): who they are, the QGIS address, personal access tokens."""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from .models import PersonalAccessToken
from .tokens import create_token, revoke_token

MAX_ACTIVE_TOKENS = 20


class TokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Nom du jeton"), max_length=100,
                           help_text=gettext_lazy("Par exemple « QGIS bureau » ou « script "
                                                  "d'export »."))


@login_required
def profile(request):
    new_token = None
    form = TokenForm()
    if request.method == "POST":
        form = TokenForm(request.POST)
        active = request.user.access_tokens.filter(revoked_at=None).count()
        if active >= MAX_ACTIVE_TOKENS:
            form.add_error(None, _("Vous avez déjà %(n)d jetons actifs : révoquez-en un d'abord.")
                           % {"n": active})
        elif form.is_valid():
            token, new_token = create_token(request.user, form.cleaned_data["name"])
            form = TokenForm()
    response = render(request, "accounts/profile.html", {
        "form": form,
        "new_token": new_token,
        "tokens": request.user.access_tokens.all(),
        "ows_url": request.build_absolute_uri("/ows"),
    })
    if new_token:
        # The only page ever showing the token: keep it out of caches.
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def revoke(request, pk):
    token = get_object_or_404(PersonalAccessToken, pk=pk, user=request.user)
    revoke_token(token)
    messages.success(request, _("Le jeton « %(name)s » est révoqué : il ne permet plus de se "
                                "connecter.") % {"name": token.name})
    return redirect("accounts:profile")
