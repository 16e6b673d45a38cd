"""Helpers of the OGC API tests: JSON of a response (streamed or not), the collections a user
sees, following next links."""
import json

from accounts.models import User

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def document(response):
    return json.loads(body(response))


def login(client, username):
    if username != "anonymous":
        client.force_login(User.objects.get(username=username))
    return client


def collection_ids(client):
    return [c["id"] for c in document(client.get("/ogc/collections"))["collections"]]


def rel(links, name, media_type=None):
    return [l for l in links if l["rel"] == name and (media_type is None or
                                                      l.get("type") == media_type)]


def local(href):
    """A link's path and query, for the test client."""
    return href.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def every_feature(client, url):
    """Follow next links from url: (features, pages, numberMatched of the first page)."""
    features, pages, matched = [], 0, None
    while url:
        page = document(client.get(url))
        pages += 1
        matched = page["numberMatched"] if matched is None else matched
        assert page["numberReturned"] == len(page["features"])
        features += page["features"]
        nexts = rel(page["links"], "next")
        url = local(nexts[0]["href"]) if nexts else None
        assert pages < 10000
    return features, pages, matched
