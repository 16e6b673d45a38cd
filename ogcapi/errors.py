"""OGC API exceptions: JSON ``{"code", "description"}`` (the shape of OGC API – Features'
exception schema), plus the platform's ``detail``/``reasons`` members, in the user's language."""
from django.http import JsonResponse


class ApiError(Exception):
    def __init__(self, status, code, description, headers=None):
        super().__init__(description)
        self.status, self.code, self.description = status, code, str(description)
        self.headers = headers or {}

    def response(self):
        return exception_response(self.status, self.code, self.description, self.headers)


def exception_response(status, code, description, headers=None):
    response = JsonResponse({"code": code, "description": str(description),
                             "detail": str(description), "reasons": [str(description)]},
                            status=status, json_dumps_params={"ensure_ascii": False})
    for key, value in (headers or {}).items():
        response[key] = value
    response["Cache-Control"] = "no-store"
    return response


def bad_request(description, code="InvalidParameterValue"):
    return ApiError(400, code, description)


def not_found(description):
    return ApiError(404, "NotFound", description)
