"""Failed-login throttling that an attacker cannot turn against an account's owner.

Three counters of *failed* attempts, kept in the rate limiter's storage (Redis in production, so every gunicorn
worker sees the same counts):

- per address, whatever the account (``LOGIN_LIMIT_PER_IP``, the view's Flask-Limiter decorator);
- per account *and* address (``LOGIN_LIMIT_PER_ACCOUNT_ADDRESS``): past it, that address is refused for that
  account until the window ends — one guesser cannot go on, and nobody else is affected;
- per account from all addresses (``LOGIN_LIMIT_PER_ACCOUNT``): a guesser using many addresses. Past this
  ceiling the account is *slowed*, not locked: each address may try it once every ``LOGIN_SLOWDOWN_SECONDS``.
  Its owner, from their own address, still logs in with the right password; the many-address guesser gets one
  guess per address per interval.

Accounts are keyed by a hash of the normalised e-mail, so an unknown e-mail is throttled exactly like a known one
(the answer never tells whether an account exists).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from limits import RateLimitItem
from limits import RateLimitItemPerSecond
from limits import parse_many

from app.auth.services import normalise_email
from app.extensions import limiter


@dataclass(frozen=True)
class Verdict:
    """Whether a login attempt may be checked now; if not, how long to wait and what to tell the user."""

    allowed: bool
    retry_after: int = 0
    message: str = ""


def _account(email: str) -> str:
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    return prefix + ":" + hashlib.sha256(normalise_email(email or "")[:254].encode()).hexdigest()[:32]


def _limits(setting: str) -> list[RateLimitItem]:
    return parse_many(current_app.config[setting])


def _wait(item: RateLimitItem, *keys: str) -> int:
    """Seconds until ``item``'s window for ``keys`` frees a slot (at least 1)."""
    reset_time = limiter.limiter.get_window_stats(item, *keys).reset_time
    return max(1, math.ceil(reset_time - time.time()))


def check(email: str, address: str) -> Verdict:
    """Decide whether the attempt to log in as ``email`` from ``address`` may be checked now.

    Counts nothing by itself except the slow-down slot of an account over its ceiling (one try per interval).
    """
    account = _account(email)
    for item in _limits("LOGIN_LIMIT_PER_ACCOUNT_ADDRESS"):
        if not limiter.limiter.test(item, "login-fail-pair", account, address):
            wait = _wait(item, "login-fail-pair", account, address)
            return Verdict(False, wait, _(
                "Too many wrong passwords for this account from your network. You can try again in "
                "%(minutes)s min., or reset your password.", minutes=math.ceil(wait / 60)))
    over_ceiling = any(
        not limiter.limiter.test(item, "login-fail-account", account) for item in _limits("LOGIN_LIMIT_PER_ACCOUNT")
    )
    if over_ceiling:
        interval = max(1, int(current_app.config["LOGIN_SLOWDOWN_SECONDS"]))
        slot = RateLimitItemPerSecond(1, interval)
        if not limiter.limiter.hit(slot, "login-slow", account, address):
            wait = _wait(slot, "login-slow", account, address)
            return Verdict(False, wait, _(
                "Many wrong passwords have been tried for this account. To protect it, each device may try once "
                "every %(interval)s seconds: please wait %(seconds)s seconds and try again.",
                interval=interval, seconds=wait))
    return Verdict(True)


def record_failure(email: str, address: str) -> None:
    """Count a failed attempt against the account-and-address and the account-wide counters."""
    account = _account(email)
    for item in _limits("LOGIN_LIMIT_PER_ACCOUNT_ADDRESS"):
        limiter.limiter.hit(item, "login-fail-pair", account, address)
    for item in _limits("LOGIN_LIMIT_PER_ACCOUNT"):
        limiter.limiter.hit(item, "login-fail-account", account)
