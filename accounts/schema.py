"""OpenAPI description of the desktop credentials (drf-spectacular extension, loaded in ready())."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class DesktopTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.DesktopTokenAuthentication"
    name = ["basicAuth", "jetonPersonnel"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "basic",
             "description": "Identifiant et mot de passe du compte C@p Géo."},
            {"type": "http", "scheme": "bearer",
             "description": "Jeton d'accès personnel créé sur la page « Mon compte » (/compte/) ; "
                            "accepté aussi dans l'en-tête X-Api-Key ou le paramètre token=."},
        ]
