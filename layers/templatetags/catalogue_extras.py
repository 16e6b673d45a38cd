"""Small display helpers of the catalogue pages."""
from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def thousands(value):
    """A count with the locale's thousands separator (« 4 002 » in French)."""
    if value in (None, ""):
        return "—"
    return number_format(value, force_grouping=True)


@register.filter
def degrees(value):
    """A WGS 84 coordinate with 5 decimals (about a metre)."""
    return number_format(value, decimal_pos=5)
