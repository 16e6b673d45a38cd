"""docs/sync-protocol.md drives the API: its ```http examples are played in order against the
server, and every answer must match the documented one (status, Content-Type, every field —
no more, no fewer — and its JSON type; the values of the protocol's key fields).

Only what a real client could not know in advance is replaced: the personal tokens, the ids of
the control and installation the test database assigned, and the cursor. So the spec and the
server cannot drift apart: a field added, renamed or removed on either side fails this test.
"""
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from accounts.tokens import create_token
from fieldsync.models import Control

from .conftest import GUERANDE, user

pytestmark = pytest.mark.django_db

SPEC = Path(settings.BASE_DIR) / "docs" / "sync-protocol.md"
SAMPLE_CONTROL = "9b2d7c1e-0f4a-4e5b-8c6d-1a2b3c4d5e6f"
SAMPLE_INSTALLATION = "5c8e1f2a-3b4d-4a6c-9e7f-0a1b2c3d4e5f"
SAMPLE_CURSOR = "since=1842"
# Values compared, not only typed: what a client branches on.
EXACT = {"status", "original_status", "resolution", "format", "code", "verified", "received",
         "missing_photos", "missing", "server_version", "version", "summary", "resubmits",
         "change_id", "position", "entity", "op", "size", "sha256"}


def examples():
    """[(request text, response text)] of the ```http blocks, in the document's order."""
    blocks = re.findall(r"^```http\n(.*?)\n```$", SPEC.read_text(encoding="utf-8"),
                        flags=re.S | re.M)
    pairs = []
    for block in blocks:
        if block.startswith("HTTP/1.1 "):
            assert pairs and pairs[-1][1] is None, f"a response without its request:\n{block}"
            pairs[-1] = (pairs[-1][0], block)
        else:
            assert not pairs or pairs[-1][1] is not None, f"a request without response:\n{block}"
            pairs.append((block, None))
    assert pairs and pairs[-1][1] is not None
    return pairs


def parse_message(text):
    head, _blank, body = text.partition("\n\n")
    first, *header_lines = head.split("\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return first, headers, body


def kind(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "object", list: "array", str: "string"}[type(value)]


def differences(documented, actual, path="$"):
    """Where the actual JSON departs from the documented one. A documented null or an actual
    null (an optional value) matches any type; a list is checked on its first element."""
    if documented is None or actual is None:
        return []
    if kind(documented) != kind(actual):
        return [f"{path} : {kind(actual)} au lieu de {kind(documented)}"]
    found = []
    if isinstance(documented, dict):
        missing, extra = set(documented) - set(actual), set(actual) - set(documented)
        if missing or extra:
            found.append(f"{path} : champs absents {sorted(missing)}, "
                         f"non documentés {sorted(extra)}")
        for key in set(documented) & set(actual):
            if key in EXACT and documented[key] != actual[key]:
                found.append(f"{path}.{key} : {actual[key]!r} au lieu de {documented[key]!r}")
            else:
                found += differences(documented[key], actual[key], f"{path}.{key}")
    elif isinstance(documented, list) and documented and actual:
        found += differences(documented[0], actual[0], f"{path}[0]")
    return found


def test_the_spec_examples_drive_the_api(campaign):
    tokens = {"cg_jeton_du_controleur": create_token(user("controleur.spanc"), "spec")[1],
              "cg_jeton_du_responsable": create_token(user("responsable.spanc"), "spec")[1]}
    control = Control.objects.select_related("installation").get(
        campaign=campaign, installation__commune__insee=GUERANDE)
    substitutions = {SAMPLE_CONTROL: str(control.uuid),
                     SAMPLE_INSTALLATION: str(control.installation.uuid), **tokens}

    def live(text):
        for sample, value in substitutions.items():
            text = text.replace(sample, value)
        return text

    played = 0
    for request_text, response_text in examples():
        request_line, headers, body = parse_message(live(request_text))
        method, path = request_line.split(" ")
        extra = {"HTTP_" + name.upper().replace("-", "_"): value
                 for name, value in headers.items() if name != "Content-Type"}
        response = Client().generic(method, path, body.encode("utf-8"),
                                    headers.get("Content-Type", "application/octet-stream"),
                                    **extra)
        status_line, expected_headers, expected_body = parse_message(live(response_text))
        where = f"{request_line} → {response.status_code} {response.content[:2000]!r}"
        assert response.status_code == int(status_line.split(" ")[1]), where
        if "Content-Type" in expected_headers:
            assert response["Content-Type"].startswith(expected_headers["Content-Type"]), where
        actual = json.loads(response.content)
        found = differences(json.loads(expected_body), actual)
        assert not found, f"{request_line}\n" + "\n".join(found)
        if path.startswith("/api/sync/package/"):
            substitutions[SAMPLE_CURSOR] = f"since={actual['cursor']}"
        played += 1
    assert played >= 15
