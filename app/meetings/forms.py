"""Meeting forms: field-level checks only; the rules between fields live in services.validate()."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField
from wtforms import HiddenField
from wtforms import SelectField
from wtforms import StringField
from wtforms import SubmitField
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from app.forms import AsciiIntegerField
from app.forms import Form
from app.forms import ParseMessageMixin
from app.meetings.services import FORMAT_LABELS

LENGTH_MESSAGE = _l("At most %(max)d characters.")
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class LocalDateTimeField(ParseMessageMixin, DateTimeLocalField):
    """A ``datetime-local`` input in Kazakhstan time, with our own message for a value that is not a date."""

    parse_message = _l("Enter a date and time, such as 2027-09-12 10:00.")

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=[DATETIME_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
                         **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        # Far-away years cannot be converted between time zones (year 1 minus 5 hours does not exist).
        if self.data is not None and not 2000 <= self.data.year <= 2100:
            self.data = None
            raise ValueError(str(_l("Enter a date between the years 2000 and 2100.")))


class WholeNumberField(ParseMessageMixin, AsciiIntegerField):
    """An integer field with our own message for text that is not a whole number."""

    parse_message = _l("Enter a whole number.")


class MeetingForm(Form):
    """Create or edit a meeting. Only these fields are read: ``state``, ``sequence``, ``registered_count``… posted
    by hand are ignored. ``host`` is ``"<scope>/<host code>"`` (the choice names the scope too)."""

    title = StringField(_l("Title"), validators=[InputRequired(message=_l("Give the meeting a title.")),
                                                 Length(max=300, message=LENGTH_MESSAGE)])
    host = SelectField(_l("Host"), validate_choice=False,
                       description=_l("National meetings rotate between the 20 regions; a region's own meetings "
                                      "rotate between its districts and cities."))
    year = WholeNumberField(_l("Rotation year"), validators=[Optional()])
    slot = SelectField(_l("Meeting of the year"), default="1",
                       choices=[SelectChoice("1", _l("First")), SelectChoice("2", _l("Second"))])
    edition = WholeNumberField(_l("Edition"), validators=[Optional()],
                               description=_l("The number of this meeting in the series, such as 7."))
    city = StringField(_l("City or village"), validators=[Length(max=200, message=LENGTH_MESSAGE)])
    venue = StringField(_l("Venue"), validators=[Length(max=300, message=LENGTH_MESSAGE)])
    address = StringField(_l("Address"), validators=[Length(max=300, message=LENGTH_MESSAGE)])
    starts_at = LocalDateTimeField(_l("Starts"), description=_l("Kazakhstan time."))
    ends_at = LocalDateTimeField(_l("Ends"), description=_l("Kazakhstan time."))
    format = SelectField(_l("Format"), default="in_person", validate_choice=False,
                         choices=[SelectChoice(k, v) for k, v in FORMAT_LABELS.items()])
    online_url = StringField(_l("Link to join online"), validators=[Length(max=500, message=LENGTH_MESSAGE)],
                             description=_l("Required for an online or hybrid meeting."))
    description = TextAreaField(_l("Description"), validators=[Length(max=20_000, message=LENGTH_MESSAGE)],
                                render_kw={"rows": 6})
    capacity = WholeNumberField(_l("Capacity (seats)"), validators=[Optional()],
                                description=_l("When every seat is taken, people join a waitlist."))
    registration_opens_at = LocalDateTimeField(_l("Registration opens"), validators=[Optional()],
                                               description=_l("Kazakhstan time. Empty: as soon as registration is "
                                                              "opened."))
    registration_closes_at = LocalDateTimeField(_l("Registration closes"), validators=[Optional()],
                                                description=_l("Kazakhstan time; before the meeting starts. Empty: "
                                                               "when it starts."))
    contact_name = StringField(_l("Contact person at the host akimat"),
                               validators=[Length(max=200, message=LENGTH_MESSAGE)])
    contact_email = StringField(_l("Contact e-mail"), validators=[Length(max=254, message=LENGTH_MESSAGE)])
    contact_phone = StringField(_l("Contact phone"), validators=[Length(max=40, message=LENGTH_MESSAGE)])
    save = SubmitField(_l("Save the meeting"))


class StateForm(Form):
    """Move a meeting to another state; cancelling and postponing need a reason (shown to everyone)."""

    state = HiddenField()
    reason = TextAreaField(_l("Reason (shown to everyone)"), validators=[Length(max=2000, message=LENGTH_MESSAGE)],
                           render_kw={"rows": 2})


class RegistrationForm(Form):
    """Register, or cancel one's own registration (``registration_id`` names it)."""

    registration_id = HiddenField()


class AttendanceForm(Form):
    """Mark attendance: the ``attended`` checkboxes (registration ids) are read from the request."""
