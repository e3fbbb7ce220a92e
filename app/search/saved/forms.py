"""Forms of saved searches: the name given when saving (optional) and when renaming (required)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import Length
from wtforms.validators import Optional

from app.forms import Form
from app.forms import required
from app.search.saved.models import NAME_MAX

_LENGTH = Length(max=NAME_MAX, message=_l("At most %(max)d characters."))


class SaveSearchForm(Form):
    """Save the search on the results page; the search itself comes in the form's other fields (q, region …)."""

    name = StringField(_l("Name"), validators=[Optional(), _LENGTH])


class RenameForm(Form):
    """Rename a saved search."""

    name = StringField(_l("Name"), validators=[required(), _LENGTH])
