"""Small display helpers of the course pages."""

from django import template

register = template.Library()


@register.filter
def duration(seconds: int | None) -> str:
    """Seconds as m:ss or h:mm:ss (e.g. 754 → 12:34)."""
    if seconds is None:
        return ""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def percent_of(part: int | None, whole: int | None) -> int:
    if not part or not whole:
        return 0
    return min(100, int(part) * 100 // int(whole))


@register.filter
def get_item(mapping: dict, key: str) -> str:
    """`mapping[key]` as text ("" when missing), for comparing with option values."""
    value = mapping.get(key) if mapping else None
    return "" if value is None else str(value)
