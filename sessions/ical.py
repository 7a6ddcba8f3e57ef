"""iCalendar (RFC 5545) rendering of a person's classes, for calendar subscriptions."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone
from icalendar import Calendar, Event

from sessions.models import Session


def render_calendar(sessions: Iterable[Session], *, name: str, base_url: str) -> bytes:
    """One VEVENT per class; cancelled classes stay in the feed as STATUS:CANCELLED so
    subscribed calendars remove them."""
    cal = Calendar()
    cal.add("prodid", "-//learning-portal//micro-classes//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", timezone.get_default_timezone_name())
    for s in sessions:
        event = Event()
        event.add("uid", f"lectures-session-{s.pk}@learning-portal")
        event.add("summary", s.title)
        event.add("dtstart", s.start)
        event.add("dtend", s.end)
        event.add("dtstamp", s.created_at)
        where = s.venue.name if s.venue_id else s.online_url
        if s.location_note:
            where = f"{where} {s.location_note}".strip()
        if where:
            event.add("location", where)
        event.add("url", f"{base_url}/lectures/classes/{s.pk}/")
        if s.description:
            event.add("description", s.description)
        event.add("status", "CANCELLED" if s.status == Session.Status.CANCELLED else "CONFIRMED")
        cal.add_component(event)
    return cal.to_ical()
