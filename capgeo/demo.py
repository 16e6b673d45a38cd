"""The whole demonstration, floor by floor: the territory and the accounts, then the demo
catalogue built over the territory (run by `manage.py load_demo`, the test suite's set-up and the
benchmarks). Idempotent: each part creates only what is missing.
"""
from layers.demo import load_catalogue_demo
from territory.demo import load_territory_demo


def load_demo(with_accounts=True, with_catalogue=True, thumbnails=False):
    """The territory, the accounts, then the demo catalogue layers.

    thumbnails renders the demo layers' images (the catalogue renders a missing one on demand).
    """
    report = load_territory_demo(with_accounts=with_accounts)
    if with_catalogue:
        report.layers_created = load_catalogue_demo(thumbnails=thumbnails)
    return report
