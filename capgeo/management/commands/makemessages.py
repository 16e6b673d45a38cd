"""makemessages that also extracts the `_t` alias (fieldsync and layers import gettext as _t where
`_` names something else): a plain run would turn their translations obsolete."""
from django.core.management.commands import makemessages


class Command(makemessages.Command):
    xgettext_options = makemessages.Command.xgettext_options + ["--keyword=_t"]
