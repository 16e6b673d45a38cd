"""A small Open311 GeoReport v2 client written from the specification (wiki.open311.org/
GeoReport_v2), independent of the server's code: real HTTP (requests), JSON or XML parsed the way
the spec describes them. Used against the live test server."""
from xml.etree import ElementTree

import requests


class Open311Error(Exception):
    def __init__(self, status, errors):
        super().__init__(f"{status}: {errors}")
        self.status = status
        self.errors = errors  # [{"code": int, "description": str}]


class GeoReportClient:
    # The spec's repeated elements in XML: <services><service>, <service_requests><request>,
    # <attributes><attribute>, <values><value>, <errors><error>.
    LISTS = {"services", "service_requests", "attributes", "values", "errors"}

    def __init__(self, endpoint, fmt="json", api_key=None, jurisdiction_id=None):
        self.endpoint = endpoint.rstrip("/") + "/"
        self.fmt = fmt
        self.api_key = api_key
        self.jurisdiction_id = jurisdiction_id
        self.http = requests.Session()

    # --- decoding ----------------------------------------------------------------------------
    def _element(self, element):
        if element.tag in self.LISTS:
            return [self._element(child) for child in element]
        if len(element):
            return {child.tag: self._element(child) for child in element}
        return element.text

    def _decode(self, response):
        if self.fmt == "xml":
            assert response.headers["Content-Type"].startswith("text/xml")
            assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
            return self._element(ElementTree.fromstring(response.content))
        assert response.headers["Content-Type"].startswith("application/json")
        return response.json()

    def _call(self, method, path, **kwargs):
        params = dict(kwargs.pop("params", {}) or {})
        if self.jurisdiction_id:
            params["jurisdiction_id"] = self.jurisdiction_id
        response = self.http.request(method, f"{self.endpoint}{path}.{self.fmt}", params=params,
                                     timeout=30, **kwargs)
        body = self._decode(response)
        if response.status_code >= 400:
            errors = body
            for error in errors:
                error["code"] = int(error["code"])
            raise Open311Error(response.status_code, errors)
        return body

    # --- the six methods (and discovery) ---------------------------------------------------------
    def discovery(self):
        return self._call("GET", "discovery")

    def services(self):
        return self._call("GET", "services")

    def service_definition(self, service_code):
        return self._call("GET", f"services/{service_code}")

    def create(self, service_code, lat=None, long=None, attributes=None, media=None, **fields):
        data = {"api_key": self.api_key, "service_code": service_code, **fields}
        if lat is not None:
            data["lat"], data["long"] = lat, long
        for code, value in (attributes or {}).items():
            data[f"attribute[{code}]"] = value
        files = [("media", (f"photo{i}.jpg", blob, "image/jpeg"))
                 for i, blob in enumerate(media or [])] or None
        return self._call("POST", "requests", data=data, files=files)

    def requests(self, **params):
        if self.api_key:
            params["api_key"] = self.api_key
        return self._call("GET", "requests", params=params)

    def request(self, service_request_id):
        params = {"api_key": self.api_key} if self.api_key else {}
        return self._call("GET", f"requests/{service_request_id}", params=params)

    def token(self, token):
        return self._call("GET", f"tokens/{token}")
