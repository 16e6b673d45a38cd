"""WMS 1.3.0 / 1.1.1: the protocol around the map engine (service.handle: the requests /ows
hands to the WMS; one module per operation)."""
