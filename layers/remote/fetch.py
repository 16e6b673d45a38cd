"""Every HTTP request to a remote service goes through fetch(): only http(s), only public
addresses (unless CAPGEO_REMOTE_ALLOWED_HOSTS names the host), bounded time and size, redirects
checked hop by hop, and failures turned into RemoteError with a French message.

The address check resolves the host name before the request; requests resolves it again when
connecting (a DNS answer changed in between is not caught: run the platform behind an egress
firewall if remote services may be hostile).
"""
import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _

USER_AGENT = "CapGeo/1.0 (+https://capgeo.cap-atlantique.fr)"
# Set on outgoing requests and read by /ows: a platform cascading from itself (or from a platform
# cascading back) stops after a few hops instead of looping.
DEPTH_HEADER = "X-CapGeo-Cascade-Depth"
MAX_DEPTH = 2
MAX_REDIRECTS = 3
CHUNK = 64 * 1024


class RemoteError(Exception):
    """A remote service could not be used; message is French and safe to show."""

    def __init__(self, message):
        super().__init__(message)
        self.message = str(message)


def timeout():
    return float(getattr(settings, "CAPGEO_REMOTE_TIMEOUT", 10))


def max_bytes():
    return int(getattr(settings, "CAPGEO_REMOTE_MAX_BYTES", 20 * 1024 * 1024))


def allowed_hosts():
    """Host names, addresses or networks allowed even though private or loopback (tests, an
    intranet server)."""
    return [str(h).strip().lower() for h in getattr(settings, "CAPGEO_REMOTE_ALLOWED_HOSTS", [])]


def _explicitly_allowed(host, addresses):
    for entry in allowed_hosts():
        if entry == host:
            return True
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue
        if addresses and all(address in network for address in addresses):
            return True
    return False


def check_url(url):
    """Raise RemoteError unless url is http(s) to a public address (or an allowed host)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise RemoteError(_("Adresse invalide : « %(url)s ».") % {"url": url[:200]}) from None
    if parts.scheme not in ("http", "https"):
        raise RemoteError(_("Seules les adresses http:// et https:// sont acceptées."))
    host = (parts.hostname or "").lower()
    if not host:
        raise RemoteError(_("Adresse invalide : le nom du serveur manque."))
    try:
        infos = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80),
                                   proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise RemoteError(_("Serveur introuvable : le nom « %(host)s » ne correspond à aucune "
                            "adresse (DNS).") % {"host": host}) from None
    addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}
    if _explicitly_allowed(host, addresses):
        return
    for address in addresses:
        if not address.is_global or address.is_multicast:
            raise RemoteError(_("Adresse refusée : « %(host)s » désigne une adresse privée, locale "
                                "ou réservée (%(address)s). Seuls les serveurs publics sont "
                                "interrogés, sauf ceux listés dans CAPGEO_REMOTE_ALLOWED_HOSTS.")
                              % {"host": host, "address": address})


@dataclass
class Answer:
    url: str
    status: int
    content_type: str
    content: bytes


def _read(response, limit):
    # The read timeout bounds each wait; this bounds a server that sends a byte now and then.
    deadline = time.monotonic() + 3 * timeout()
    chunks, size = [], 0
    for chunk in response.iter_content(CHUNK):
        size += len(chunk)
        if size > limit:
            raise RemoteError(_("Réponse trop volumineuse (plus de %(mb).0f Mo).")
                              % {"mb": limit / 1024 / 1024})
        if time.monotonic() > deadline:
            raise RemoteError(_("Le serveur distant n'a pas fini de répondre dans le délai de "
                                "%(s)g s.") % {"s": 3 * timeout()})
        chunks.append(chunk)
    return b"".join(chunks)


def fetch(url, params=None, *, limit=None, depth=0):
    """GET url (params added to its query); an Answer whatever the HTTP status, or RemoteError
    when the server cannot be reached or is refused."""
    limit = limit or max_bytes()
    headers = {"User-Agent": USER_AGENT, DEPTH_HEADER: str(depth + 1)}
    for _hop in range(MAX_REDIRECTS + 1):
        check_url(url)
        try:
            response = requests.get(url, params=params, headers=headers, stream=True,
                                    allow_redirects=False, timeout=(timeout(), timeout()))
        except requests.exceptions.Timeout:
            raise RemoteError(_("Le serveur distant n'a pas répondu dans le délai de %(s)g s.")
                              % {"s": timeout()}) from None
        except requests.exceptions.SSLError:
            raise RemoteError(_("Connexion sécurisée impossible : le certificat du serveur "
                                "distant n'est pas valide.")) from None
        except requests.exceptions.ConnectionError:
            raise RemoteError(_("Serveur injoignable : la connexion a été refusée ou "
                                "interrompue.")) from None
        except (requests.exceptions.RequestException, ValueError):
            raise RemoteError(_("Adresse invalide : « %(url)s ».") % {"url": url[:200]}) from None
        with response:
            if response.is_redirect and response.headers.get("Location"):
                url, params = urljoin(response.url, response.headers["Location"]), None
                continue
            try:
                content = _read(response, limit)
            except requests.exceptions.RequestException:
                raise RemoteError(_("Le serveur distant a interrompu sa réponse.")) from None
            return Answer(response.url, response.status_code,
                          response.headers.get("Content-Type", ""), content)
    raise RemoteError(_("Trop de redirections."))


def http_error(answer):
    return RemoteError(_("Le serveur distant a répondu par une erreur HTTP %(status)d.")
                       % {"status": answer.status})
