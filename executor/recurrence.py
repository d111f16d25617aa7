"""When a recurrence schedule is due: SDK v1's `ScheduleRecurrence` as data, and its next time.

A recurrence is a dict `{"frequency": "Minute"|"Hour"|"Day"|"Week"|"Month", "interval": N,
"start_time": ISO 8601, "time_zone": IANA name or "UTC", "hours": [...], "minutes": [...],
"week_days": [...]}`. `normalize` checks one and fills `start_time` (the time it is recorded
when none is given) and `time_zone` ("UTC"), so the recorded recurrence alone fixes every due
time. The times follow the calendar rules of RFC 5545 (dateutil's `rrule`): every `interval`
frequency units counted from `start_time`, at the given hours and minutes of the day (Day and
Week) and week days (Week), on the wall clock of `time_zone`.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule

from canalis.executor.errors import RecurrenceError

FREQUENCIES = {"Minute": rrule.MINUTELY, "Hour": rrule.HOURLY, "Day": rrule.DAILY, "Week": rrule.WEEKLY,
               "Month": rrule.MONTHLY}
WEEK_DAYS = {"Monday": rrule.MO, "Tuesday": rrule.TU, "Wednesday": rrule.WE, "Thursday": rrule.TH,
             "Friday": rrule.FR, "Saturday": rrule.SA, "Sunday": rrule.SU}
#: length of one unit of the frequencies whose period is fixed on the wall clock
_UNIT = {"Minute": timedelta(minutes=1), "Hour": timedelta(hours=1), "Day": timedelta(days=1),
         "Week": timedelta(weeks=1)}
#: more than any daylight saving change moves a wall clock (an hour; half an hour on Lord Howe Island)
_MARGIN = timedelta(hours=2)


def zone(name: str):
    try:
        return ZoneInfo("UTC" if name in ("UTC", "Coordinated Universal Time") else name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise RecurrenceError(f"time zone {name!r} is not known; use an IANA name such as 'UTC', 'Europe/Berlin' "
                              "or 'America/Los_Angeles'") from None


def _ints(value, what: str, low: int, high: int) -> list[int] | None:
    if value is None:
        return None
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
            raise RecurrenceError(f"recurrence {what} must be whole numbers from {low} to {high}, got {v!r}")
        out.append(v)
    return sorted(set(out)) or None


def _time(value, tz) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise RecurrenceError(f"recurrence start_time {value!r} is not an ISO 8601 time "
                                  "(e.g. 2030-01-31T06:00:00)") from None
    if not isinstance(value, datetime):
        raise RecurrenceError(f"recurrence start_time must be a datetime or ISO 8601 text, got {value!r}")
    return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)


def normalize(rec: dict, now: datetime | None = None) -> dict:
    """A checked recurrence with `start_time` (ISO 8601, in its time zone) and `time_zone` filled."""
    if not isinstance(rec, dict):
        raise RecurrenceError(f"a recurrence must be a ScheduleRecurrence or a dict, got {type(rec).__name__}")
    unknown = sorted(set(rec) - {"frequency", "interval", "start_time", "time_zone", "hours", "minutes", "week_days",
                                 "time_of_day"})
    if unknown:
        raise RecurrenceError(f"recurrence has unknown setting(s) {', '.join(unknown)}")
    freq = rec.get("frequency")
    if freq not in FREQUENCIES:
        raise RecurrenceError(f"recurrence frequency {freq!r} is not one of {', '.join(FREQUENCIES)}")
    interval = rec.get("interval", 1)
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        raise RecurrenceError(f"recurrence interval must be a whole number of at least 1, got {interval!r}")
    tz_name = rec.get("time_zone") or "UTC"
    tz = zone(tz_name)
    start = _time(rec["start_time"], tz) if rec.get("start_time") is not None else \
        (now or datetime.now(timezone.utc)).astimezone(tz).replace(microsecond=0)
    hours, minutes = _ints(rec.get("hours"), "hours", 0, 23), _ints(rec.get("minutes"), "minutes", 0, 59)
    if rec.get("time_of_day"):
        if hours or minutes:
            raise RecurrenceError("give either time_of_day or hours and minutes, not both")
        try:
            h, m = (int(x) for x in str(rec["time_of_day"]).split(":"))
        except ValueError:
            raise RecurrenceError(f"recurrence time_of_day {rec['time_of_day']!r} is not HH:MM") from None
        hours, minutes = _ints([h], "hours", 0, 23), _ints([m], "minutes", 0, 59)
    if (hours or minutes) and freq not in ("Day", "Week"):
        raise RecurrenceError(f"hours and minutes apply to a frequency of Day or Week, not {freq}")
    days = rec.get("week_days")
    if days is not None:
        days = [days] if isinstance(days, str) else list(days)
        bad = [d for d in days if d not in WEEK_DAYS]
        if bad:
            raise RecurrenceError(f"recurrence week_days {bad} are not among {', '.join(WEEK_DAYS)}")
        if freq != "Week":
            raise RecurrenceError(f"week_days apply to a frequency of Week, not {freq}")
        days = sorted(set(days), key=list(WEEK_DAYS).index) or None
    return {"frequency": freq, "interval": interval, "start_time": start.isoformat(), "time_zone": tz_name,
            "hours": hours, "minutes": minutes, "week_days": days}


def _rule(rec: dict, dtstart: datetime):
    return rrule.rrule(FREQUENCIES[rec["frequency"]], interval=rec["interval"], dtstart=dtstart,
                       byhour=rec.get("hours"), byminute=rec.get("minutes") if rec.get("hours") or rec.get("minutes")
                       else None, bysecond=0 if rec.get("hours") or rec.get("minutes") else None,
                       byweekday=[WEEK_DAYS[d] for d in rec["week_days"]] if rec.get("week_days") else None)


def next_due(rec: dict, after: datetime) -> datetime:
    """The first due time strictly after `after` (aware), in UTC."""
    tz = zone(rec.get("time_zone") or "UTC")
    start = _time(rec["start_time"], tz)
    local_after = after.astimezone(tz)
    if rec["frequency"] in _UNIT and local_after > start:
        # start counting from a whole period shortly before `after`, not from start_time (a
        # minutely schedule a year old would otherwise step through half a million times).
        # The rule runs on the wall clock (a daylight saving change shifts its UTC times), so
        # periods are counted there too, less a margin of over two hours: around a change the
        # wall clock and the true order of times differ by up to an hour.
        period = _UNIT[rec["frequency"]] * rec["interval"]
        naive_start, naive_after = start.replace(tzinfo=None), local_after.replace(tzinfo=None)
        margin = (_MARGIN + _MARGIN) // period + 1
        whole = max(0, (naive_after - naive_start) // period - margin)
        start = (naive_start + whole * period).replace(tzinfo=tz)
    # The rule's times are wall-clock times, in wall-clock order; the due time is the first
    # *instant* after `after`. Around a daylight saving change the two orders differ: a time in
    # the hour the clocks skip (02:30 on the day they spring forward) is the instant an hour
    # later than the wall clock says, after 03:00. So look from a margin before `after` on the
    # wall clock, and take the earliest instant after it among the times up to a margin past
    # the first one found.
    best = best_wall = None
    for found in _rule(rec, start).xafter(local_after - _MARGIN, inc=False):
        wall = found.replace(tzinfo=None)
        if best_wall is not None and wall > best_wall + _MARGIN:
            break
        instant = found.astimezone(timezone.utc)
        if instant > after and (best is None or instant < best):
            best, best_wall = instant, wall
    if best is None:
        raise RecurrenceError(f"recurrence {rec} has no time after {after.isoformat()}")
    return best


__all__ = ["FREQUENCIES", "WEEK_DAYS", "next_due", "normalize", "zone"]
