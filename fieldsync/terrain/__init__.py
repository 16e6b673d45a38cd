"""The offline-first field app for SPANC inspectors (/terrain/): a PWA over the sync API."""
