"""gunicorn's logger with credentials masked (accounts.redaction), for its access log
(request line, query string, referer, any header or environ atom of a custom format) and its
error log. Used by every gunicorn command line of the project (run.sh, the Docker image):

    gunicorn capgeo.wsgi:application --logger-class accounts.gunicorn_logger.RedactingLogger

Imports nothing from Django: gunicorn's arbiter loads it before the application.
"""
from gunicorn.glogging import Logger

from .redaction import MASK, RedactCredentials, redact

# Atoms whose whole value is a credential (request headers "{name}i", environ "{name}e").
SECRET_ATOMS = {"{authorization}i", "{proxy-authorization}i", "{x-api-key}i", "{cookie}i",
                "{http_authorization}e", "{http_proxy_authorization}e", "{http_x_api_key}e",
                "{http_cookie}e"}


class RedactingLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactCredentials) for f in log.filters):
                log.addFilter(RedactCredentials())

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if key in SECRET_ATOMS and value:
                atoms[key] = MASK
            elif isinstance(value, str):
                atoms[key] = redact(value)
        return atoms
