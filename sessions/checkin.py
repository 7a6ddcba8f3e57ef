"""Rotating check-in tokens and short codes for one class.

Time is cut into steps of LECTURES_TOKEN_STEP_SECONDS (15 s). For each step the class
has a QR token — `<class id>.<step>.<HMAC>` — and a 6-digit short code derived from the
same HMAC, keyed by the server secret and the class's own random secret, so a token
can be neither forged nor carried to another class. The screen shows the current step;
a scanned token stays valid for LECTURES_TOKEN_GRACE_STEPS steps more (time to open the
page on a slow phone), a typed code for the current and the previous step. A token that
was used already is harmless: a person can check in to a class only once.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

CODE_DIGITS = 6


def step_seconds() -> int:
    return settings.LECTURES_TOKEN_STEP_SECONDS


def step_at(when: dt.datetime | None = None) -> int:
    when = when or timezone.now()
    return int(when.timestamp() // step_seconds())


def seconds_left(when: dt.datetime | None = None) -> int:
    when = when or timezone.now()
    return step_seconds() - int(when.timestamp()) % step_seconds()


def _mac(session_id: int, secret: str, step: int) -> bytes:
    key = f"{settings.SECRET_KEY}|lectures.checkin|{secret}".encode()
    return hmac.new(key, f"{session_id}:{step}".encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def make_token(session, when: dt.datetime | None = None) -> str:
    step = step_at(when)
    return f"{session.pk}.{step}.{_b64(_mac(session.pk, session.checkin_secret, step)[:16])}"


def short_code(session, when: dt.datetime | None = None, *, step: int | None = None) -> str:
    step = step_at(when) if step is None else step
    number = int.from_bytes(_mac(session.pk, session.checkin_secret, step)[16:24], "big")
    return f"{number % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


@dataclass(frozen=True)
class ParsedToken:
    session_id: int
    step: int
    mac: str


def parse_token(token: str) -> ParsedToken | None:
    """Split a token into its parts; None when it is not shaped like one of ours."""
    parts = (token or "").strip().split(".")
    if len(parts) != 3:
        return None
    try:
        return ParsedToken(int(parts[0]), int(parts[1]), parts[2])
    except ValueError:
        return None


class TokenProblem:
    MALFORMED = "malformed"
    OTHER_CLASS = "other_class"
    EXPIRED = "expired"
    INVALID = "invalid"


def check_token(session, token: str, when: dt.datetime | None = None) -> str | None:
    """None when `token` is a live token of `session`, else a TokenProblem."""
    parsed = parse_token(token)
    if parsed is None:
        return TokenProblem.MALFORMED
    if parsed.session_id != session.pk:
        return TokenProblem.OTHER_CLASS
    expected = _b64(_mac(session.pk, session.checkin_secret, parsed.step)[:16])
    if not hmac.compare_digest(expected, parsed.mac):
        return TokenProblem.INVALID
    now_step = step_at(when)
    if parsed.step > now_step + 1 or parsed.step < now_step - settings.LECTURES_TOKEN_GRACE_STEPS:
        return TokenProblem.EXPIRED
    return None


def check_code(session, code: str, when: dt.datetime | None = None) -> bool:
    """True when `code` is the class's short code of the current or the previous step."""
    code = (code or "").strip()
    if len(code) != CODE_DIGITS or not code.isdigit():
        return False
    now_step = step_at(when)
    return any(hmac.compare_digest(short_code(session, step=s), code) for s in (now_step, now_step - 1))
