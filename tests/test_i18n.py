"""English translation: the catalogue is complete, compiles, and the pages follow the visitor's language.

The source strings are French (LANGUAGE_CODE 'fr'); capgeo/locale/en/LC_MESSAGES/django.po holds
the English. run.sh compiles it; the fixture below compiles it too when the .mo is missing or
older than the .po, so these tests also run on a checkout where run.sh has not been run yet.
"""
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import translation
from django.utils.translation import trans_real

from accounts.models import Role

ROOT = Path(__file__).resolve().parent.parent
PO_FILE = ROOT / "capgeo" / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO_FILE = PO_FILE.with_suffix(".mo")


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogue():
    if not MO_FILE.exists() or MO_FILE.stat().st_mtime < PO_FILE.stat().st_mtime:
        call_command("compilemessages", locale=["en"], verbosity=0,
                     ignore_patterns=[".venv", "node_modules", "var"])
        # Catalogues already loaded in this process were read before the .mo existed.
        trans_real._translations = {}
        trans_real._default = None
    assert MO_FILE.exists()


def po_entries(path):
    """(msgid, msgid_plural, [msgstr…], flags) for each entry of a .po file, header excluded."""
    entries, entry, field = [], None, None

    def unquote(text):
        body = text[text.index('"') + 1:text.rindex('"')]
        return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)

    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if entry and entry["msgid"]:
                entries.append(entry)
            entry, field = None, None
            continue
        if entry is None:
            entry = {"msgid": "", "msgid_plural": None, "msgstr": {}, "flags": set()}
        if line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith("msgid_plural "):
            field, entry["msgid_plural"] = "msgid_plural", unquote(line)
        elif line.startswith("msgid "):
            field, entry["msgid"] = "msgid", unquote(line)
        elif line.startswith("msgstr"):
            index = re.match(r"msgstr(?:\[(\d+)\])?", line).group(1) or "0"
            field = ("msgstr", index)
            entry["msgstr"][index] = unquote(line)
        elif line.startswith('"'):
            if isinstance(field, tuple):
                entry["msgstr"][field[1]] += unquote(line)
            else:
                entry[field] = (entry[field] or "") + unquote(line)
    return entries


def test_every_message_of_the_catalogue_is_translated():
    entries = po_entries(PO_FILE)
    assert len(entries) > 100  # the whole interface, not a handful of strings
    untranslated = [e["msgid"] for e in entries if not all(e["msgstr"].values())]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert untranslated == []
    assert fuzzy == []
    plurals = [e for e in entries if e["msgid_plural"]]
    assert plurals and all(set(e["msgstr"]) == {"0", "1"} for e in plurals)


def test_placeholders_are_kept_in_the_translations():
    placeholder = re.compile(r"%\(\w+\)[sdf]")
    for entry in po_entries(PO_FILE):
        wanted = set(placeholder.findall(entry["msgid"] + (entry["msgid_plural"] or "")))
        for text in entry["msgstr"].values():
            assert set(placeholder.findall(text)) <= wanted, (entry["msgid"], text)
        # The plural form keeps every placeholder of the French plural.
        last = entry["msgstr"][str(len(entry["msgstr"]) - 1)]
        assert set(placeholder.findall(entry["msgid_plural"] or entry["msgid"])) <= \
            set(placeholder.findall(last)), (entry["msgid"], last)


def test_role_labels_in_english_and_in_french():
    with translation.override("en"):
        assert [str(label) for label in Role.labels] == [
            "GIS administrator", "Municipal officer", "SPANC manager", "SPANC inspector", "Viewer",
        ]
        assert str(Role.VIEWER.label) == "Viewer"
    with translation.override("fr"):
        assert str(Role.GIS_ADMIN.label) == "Administrateur SIG"
        assert str(Role.SPANC_INSPECTOR.label) == "Contrôleur SPANC"


def test_a_few_interface_strings():
    with translation.override("en"):
        assert translation.gettext("Commune") == "Municipality"
        assert translation.gettext("Catalogue de couches") == "Layer catalogue"
        assert translation.gettext("Se connecter") == "Sign in"
        assert translation.ngettext("%(n)s couche", "%(n)s couches", 1) % {"n": 1} == "1 layer"
        assert translation.ngettext("%(n)s couche", "%(n)s couches", 3) % {"n": 3} == "3 layers"
    with translation.override("fr"):
        assert translation.gettext("Commune") == "Commune"


def test_languages_offered_are_french_then_english():
    assert settings.LANGUAGE_CODE == "fr"
    assert [code for code, _name in settings.LANGUAGES] == ["fr", "en"]


FRENCH = ["Parcourir le catalogue des couches", "Se connecter", "Code INSEE"]
ENGLISH = ["Browse the layer catalogue", "Sign in", "INSEE code", "Municipality"]


def assert_english(html):
    assert '<html lang="en">' in html
    for text in ENGLISH:
        assert text in html
    for text in FRENCH:
        assert text not in html
    # The demo territory's 15 communes, with the English plural.
    assert re.search(r"<h2>\d+ member municipalities</h2>", html)


def assert_french(html):
    assert '<html lang="fr">' in html
    for text in FRENCH:
        assert text in html
    for text in ENGLISH:
        assert text not in html
    assert re.search(r"<h2>\d+ communes membres</h2>", html)


@pytest.mark.django_db
def test_home_page_follows_accept_language(client):
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert english.status_code == 200
    assert english["Content-Language"] == "en"
    assert_english(english.content.decode())

    french = client.get("/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    assert french.status_code == 200
    assert french["Content-Language"] == "fr"
    assert_french(french.content.decode())


@pytest.mark.django_db
def test_home_page_defaults_to_french(client):
    response = client.get("/")  # no Accept-Language, no cookie
    assert_french(response.content.decode())
    # A language the platform does not offer falls back to French too.
    assert_french(client.get("/", HTTP_ACCEPT_LANGUAGE="de").content.decode())


@pytest.mark.django_db
def test_language_cookie_wins_over_accept_language(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert_english(client.get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode())
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    assert_french(client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode())


@pytest.mark.django_db
def test_language_selector_switches_to_english(client):
    # The <select> of base.html posts to Django's set_language view.
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert_english(client.get("/").content.decode())
