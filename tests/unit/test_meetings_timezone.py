"""Kazakhstan time: the zone comes from the pinned tzdata (UTC+5 since 1 March 2024), conversions both ways, and
dates formatted in the reader's language."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

from flask import Flask
from flask_babel import Babel
from flask_babel import force_locale

from app.meetings import timezone


def test_the_zone_is_utc_plus_5_from_march_2024_and_utc_plus_6_before():
    assert timezone.KZ.key == "Asia/Almaty"
    assert datetime(2025, 6, 1, 12, tzinfo=timezone.KZ).utcoffset() == timedelta(hours=5)
    assert datetime(2025, 1, 15, 12, tzinfo=timezone.KZ).utcoffset() == timedelta(hours=5)
    assert datetime(2024, 3, 2, 12, tzinfo=timezone.KZ).utcoffset() == timedelta(hours=5)
    assert datetime(2024, 2, 28, 12, tzinfo=timezone.KZ).utcoffset() == timedelta(hours=6)
    assert datetime(2019, 6, 1, 12, tzinfo=timezone.KZ).utcoffset() == timedelta(hours=6)


def test_conversions():
    stored = datetime(2027, 9, 12, 5, 0, tzinfo=UTC)
    assert timezone.to_local(stored) == stored
    assert timezone.to_local(stored).hour == 10
    assert timezone.to_local(stored.replace(tzinfo=None)).hour == 10  # SQLite's naive UTC
    assert timezone.to_utc(datetime(2027, 9, 12, 10, 0)) == stored  # a form's naive Kazakhstan time
    assert timezone.to_utc(datetime(2027, 9, 12, 10, 0)).tzinfo == UTC
    assert timezone.input_value(stored) == datetime(2027, 9, 12, 10, 0)
    assert timezone.to_local(None) is None and timezone.to_utc(None) is None and timezone.as_utc(None) is None
    assert timezone.offset_label(stored) == "+5"
    assert timezone.offset_label(datetime(2023, 5, 20, 4, tzinfo=UTC)) == "+6"


def test_formatting_in_the_readers_language():
    app = Flask(__name__)
    Babel(app)
    stored = datetime(2027, 9, 12, 5, 0, tzinfo=UTC)
    with app.test_request_context():
        with force_locale("en"):
            assert timezone.format_local_date(stored) == "September 12, 2027"
            assert timezone.format_span(stored, stored + timedelta(hours=8)) == (
                "September 12, 2027, 10:00\u202fAM–6:00\u202fPM")
        with force_locale("ru"):
            assert timezone.format_local_date(stored) == "12 сентября 2027\u202fг."
            assert timezone.format_local(stored) == "12 сентября 2027\u202fг., 10:00"
            assert timezone.format_span(stored, stored + timedelta(hours=8)) == "12 сентября 2027\u202fг., 10:00–18:00"
            assert timezone.format_span(stored, stored + timedelta(days=1)) == (
                "12 сентября 2027\u202fг., 10:00 – 13 сентября 2027\u202fг., 10:00")
        with force_locale("kk"):
            assert "қыркүйек" in timezone.format_local_date(stored)
