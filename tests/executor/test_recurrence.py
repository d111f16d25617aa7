"""Recurrence due times (executor/recurrence.py): `next_due` counts from the last whole period
before `after` instead of from `start_time`; it must give exactly what the calendar rule
(dateutil's rrule from `start_time`) gives, in any time zone, across daylight saving changes:
the earliest instant after `after`, also where a time falls in the hour the clocks skip."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canalis.executor import recurrence
from canalis.executor.errors import RecurrenceError

ZONES = ["UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata", "Australia/Sydney"]


@st.composite
def recurrences(draw):
    freq = draw(st.sampled_from(["Minute", "Hour", "Day", "Week", "Month"]))
    rec = {"frequency": freq, "interval": draw(st.integers(1, 5) if freq != "Minute" else st.integers(15, 240)),
           "time_zone": draw(st.sampled_from(ZONES)),
           "start_time": draw(st.datetimes(datetime(2024, 1, 1), datetime(2026, 12, 31))).replace(microsecond=0)
           .isoformat()}
    if freq in ("Day", "Week") and draw(st.booleans()):
        rec["hours"] = draw(st.lists(st.integers(0, 23), min_size=1, max_size=3))
        rec["minutes"] = draw(st.lists(st.integers(0, 59), min_size=1, max_size=2))
    if freq == "Week" and draw(st.booleans()):
        rec["week_days"] = draw(st.lists(st.sampled_from(list(recurrence.WEEK_DAYS)), min_size=1, max_size=3))
    return recurrence.normalize(rec)


def _by_the_rule(rec, after):
    """The earliest instant after `after` among all the rule's times, counted from start_time.
    The rule's times are in wall-clock order, which is not the order of instants around a
    daylight saving change (a time in the skipped hour is an hour later than it says), so
    every time up to two hours past the first one found after `after` is looked at."""
    tz = recurrence.zone(rec["time_zone"])
    start = datetime.fromisoformat(rec["start_time"]).astimezone(tz)
    best = None
    for found in recurrence._rule(rec, start):
        instant = found.astimezone(timezone.utc)
        if best is not None and found.replace(tzinfo=None) > best[1] + timedelta(hours=2):
            return best[0]
        if instant > after and (best is None or instant < best[0]):
            best = (instant, found.replace(tzinfo=None))
    return best[0]


@settings(max_examples=200, deadline=None)
@given(rec=recurrences(), offset=st.integers(-10 * 24 * 3600, 120 * 24 * 3600))
def test_next_due_is_the_rules_next_time(rec, offset):
    after = datetime.fromisoformat(rec["start_time"]).astimezone(timezone.utc) + timedelta(seconds=offset)
    due = recurrence.next_due(rec, after)
    assert due > after
    assert due == _by_the_rule(rec, after)


@settings(max_examples=100, deadline=None)
@given(rec=recurrences(), offset=st.integers(0, 100 * 24 * 3600))
def test_due_times_follow_each_other(rec, offset):
    after = datetime.fromisoformat(rec["start_time"]).astimezone(timezone.utc) + timedelta(seconds=offset)
    first = recurrence.next_due(rec, after)
    second = recurrence.next_due(rec, first)
    assert second > first and recurrence.next_due(rec, first - timedelta(microseconds=1)) == first


def test_a_daily_time_in_the_skipped_hour_is_due_once_at_its_instant():
    # 02:00:01 does not exist in Los Angeles on 10 March 2024 (clocks go from 02:00 to 03:00);
    # it is due at 10:00:01 UTC (03:00:01 PDT), also when asked a moment before that instant
    rec = recurrence.normalize({"frequency": "Day", "interval": 1, "time_zone": "America/Los_Angeles",
                                "start_time": "2024-03-09T02:00:01"})
    first = recurrence.next_due(rec, datetime(2024, 3, 9, 10, 0, 1, tzinfo=timezone.utc))
    assert first == datetime(2024, 3, 10, 10, 0, 1, tzinfo=timezone.utc)
    assert recurrence.next_due(rec, first - timedelta(microseconds=1)) == first
    assert recurrence.next_due(rec, first) == datetime(2024, 3, 11, 9, 0, 1, tzinfo=timezone.utc)


def test_an_hourly_schedule_keeps_its_wall_clock_times_across_daylight_saving():
    # every 2 hours from midnight in Berlin: 00:00, 02:00 (not there on 31 March: 03:00 CEST), 04:00 CEST
    rec = recurrence.normalize({"frequency": "Hour", "interval": 2, "time_zone": "Europe/Berlin",
                                "start_time": "2024-03-30T00:00:00"})
    due = recurrence.next_due(rec, datetime(2024, 3, 31, 1, tzinfo=timezone.utc))
    assert due.astimezone(recurrence.zone("Europe/Berlin")).hour == 4


def test_a_daily_time_stays_on_the_wall_clock_across_daylight_saving():
    rec = recurrence.normalize({"frequency": "Day", "interval": 1, "hours": [6], "minutes": [30],
                                "time_zone": "Europe/Berlin", "start_time": "2026-03-20T00:00:00"})
    before = recurrence.next_due(rec, datetime(2026, 3, 27, 12, tzinfo=timezone.utc))  # 28 March: CET
    after = recurrence.next_due(rec, datetime(2026, 3, 29, 12, tzinfo=timezone.utc))
    assert before.hour == 5 and after.hour == 4  # 06:30 CET, then 06:30 CEST


@pytest.mark.parametrize("rec,message", [
    ({"frequency": "Fortnight", "interval": 1}, "frequency"),
    ({"frequency": "Day", "interval": 0}, "interval"),
    ({"frequency": "Day", "interval": 1, "hours": [24]}, "hours"),
    ({"frequency": "Hour", "interval": 1, "hours": [3]}, "Day or Week"),
    ({"frequency": "Day", "interval": 1, "week_days": ["Monday"]}, "Week"),
    ({"frequency": "Day", "interval": 1, "time_zone": "Mars/Olympus"}, "time zone"),
    ({"frequency": "Day", "interval": 1, "start_time": "yesterday"}, "ISO 8601"),
])
def test_bad_recurrences_are_refused_naming_the_setting(rec, message):
    with pytest.raises(RecurrenceError, match=message):
        recurrence.normalize(rec)
