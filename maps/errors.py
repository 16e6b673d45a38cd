"""The map engine's refusals, which the protocols above answer in their own format.

MapError carries an OGC exception code (LayerNotDefined, StyleNotDefined, InvalidCRS…), a French
message and a locator (the request parameter at fault): the WMS answers it as a service exception
(wms.wms.errors), MapProxy's source and the prints as their own messages.
"""


class MapError(Exception):
    """A client error answered as an OGC service exception; message is French."""

    def __init__(self, code, message, locator=None):
        super().__init__(message)
        self.code = code
        self.message = str(message)
        self.locator = locator


class PrintError(ValueError):
    """Bad print request: the message is shown to the user (French)."""


def crs_code_name(version):
    return "InvalidCRS" if version == "1.3.0" else "InvalidSRS"
