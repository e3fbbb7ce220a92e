"""The host rotation of the exchange meetings: a pure planner (stdlib only, no Flask, no database).

:func:`build_plan` takes the eligible host codes, the history of held meetings, the organisers' pins and
exclusions, and returns a :class:`Plan`: one :class:`Slot` per (year, slot) of the window, each with a host
and a reason, and a :class:`Violation` wherever a rule of CONTRACTS.md §3 cannot be kept.

Terms
    *Meetings* are the held meetings (history), the pinned slots and the planned slots, in (year, slot) order.
    Empty slots (no host) are not meetings: "consecutive" means consecutive meetings, skipping empty slots.
    A *cycle* is a run of meetings in which every eligible host hosts once. It ends when the last eligible
    host of the cycle has hosted. Only a pin or the recorded history can make a host host again before that
    (a rule 1 violation); that meeting then starts the next cycle (the same walk as the rotation pages use).
    Meetings of hosts that are not (or no longer) eligible are shown but do not count towards any cycle.
    A host is *due* when it has not hosted yet in the current cycle.

Order (rule 4)
    Due hosts are ranked: never hosted first, in code order; then by their last meeting, oldest first, where
    "oldest" compares (year, slot), so with two meetings a year the first meeting of a year is older than the
    second. Ties can only happen between never-hosted hosts, and they are broken by the sorted code order
    (plain string order, e.g. ``"KZ-10" < "KZ-11" < "KZ-75"``). No other input order matters: the same inputs
    in any order give the same plan.

Algorithm (one pass over the slots of the window, in order)
    1. The history before ``start_year`` gives each host's last meeting, the previous meeting (for rule 2
       across the window's start) and the current cycle (walked from the first recorded meeting).
    2. Held meetings inside the window and valid pins are *fixed* slots: they are shown as they are
       ("held", "pinned"). Fixed slots after the window (pins of later years) are looked at too, so a plan for
       fewer years is always the beginning of a plan for more years.
    3. At every other slot the first due host in rank order is taken that
       a. is not excluded that year (it is *deferred*: listed in ``Slot.deferred`` and, as it keeps its old
          last meeting, it ranks first again as soon as its exclusion ends),
       b. is not the host of the previous meeting nor of a fixed next slot (rule 2; rule 3 follows from it,
          the two meetings of a year being consecutive),
       c. is not *reserved*: a due host with a fixed slot ahead hosts there, not earlier, when that fixed slot
          falls inside the current cycle. Reserving is decided by counting free slots: of the due hosts with a
          fixed slot ahead (sorted by that slot), the first j are reserved for the largest j where the free
          slots before the j-th one's fixed slot can still be filled by the other due hosts.
       Rule 2 at a cycle's end: the host of the previous meeting has the newest last meeting, so it is always
       ranked last at the start of a new cycle and the oldest host can be taken. The only clash left is a fixed
       slot right after the cycle's last free slot whose host is still due: then the two last due hosts are
       swapped (the second-oldest goes first), which keeps rule 1 and costs rule 4 only that one swap.
    4. If no due host passes a-c, the slot stays empty ("no eligible host") and carries a ``no_eligible_host``
       violation saying why: every due host is excluded (the cycle waits for them, rule 1: they are deferred,
       not skipped) or the only ones left would host twice in a row (rule 2). A planned host never breaks
       rules 1-3 against the meetings before it or a fixed slot right after it, so violations sit on held and
       pinned slots only. A single eligible host is the exception: it hosts every meeting and rule 2 (and
       rule 3) is reported. Reserving is an estimate: when exclusions leave slots of a cycle empty, a pin can
       still land in the cycle in which its host already hosted; that pin then reports rule 1.
    5. Every meeting of the window (held, pinned, planned) is checked against rules 1-3; a broken rule gives
       a violation on the later of the two meetings involved. Pins that cannot be honoured (unknown host, two
       hosts pinned to one slot, a pin on a held slot) and pins of excluded hosts are reported with rule 5.

Violation codes and their ``params`` (all values are ints or strings; lists of codes are joined by ", "):
    ``host_twice_in_cycle`` (rule 1): host, year, slot, waiting (hosts that have not hosted in the cycle).
    ``same_host_consecutive`` (rule 2): host, year, slot, previous_year, previous_slot.
    ``same_host_in_year`` (rule 3): host, year.
    ``no_eligible_host`` (rule 1 or 2): year, slot, hosts (the deferred hosts, as in ``Slot.deferred``).
    ``pin_unknown_host``, ``pin_conflict``, ``pin_on_held_slot``, ``pin_excluded_host``,
    ``pin_outside_range`` (rule 5): year, slot, host or hosts, and held_host / until_year / first_year and
    last_year where they apply.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field

REASON_HELD = "held"
REASON_PINNED = "pinned"
REASON_NEVER_HOSTED = "never hosted"
REASON_LONGEST = "longest since last hosted"
REASON_NO_HOST = "no eligible host"

MAX_YEARS = 100
PER_YEAR_CHOICES = (1, 2)


@dataclass(frozen=True)
class HeldMeeting:
    """A meeting that took place: ``slot`` 2 is the second meeting of that year."""

    year: int
    slot: int
    host: str


@dataclass(frozen=True)
class Pin:
    """An organiser's decision that ``host`` hosts the meeting of (``year``, ``slot``)."""

    year: int
    slot: int
    host: str
    reason: str = ""


@dataclass(frozen=True)
class Exclusion:
    """``host`` cannot host in any year before ``until_year``; from then on it is back, keeping its place."""

    host: str
    until_year: int
    reason: str = ""


@dataclass(frozen=True)
class Violation:
    """A rule of CONTRACTS.md §3 (``rule``) that the plan breaks or cannot keep at a slot, and why."""

    rule: int
    code: str
    message: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Slot:
    """One (year, slot) of the plan: its host (None: nobody can host) and the reason for it."""

    year: int
    slot: int
    host: str | None
    reason: str
    last_hosted: int | None
    deferred: tuple[str, ...] = ()
    violations: tuple[Violation, ...] = ()


@dataclass(frozen=True)
class Plan:
    """The slots of the plan in (year, slot) order, and every violation (the slots' ones, in slot order)."""

    slots: tuple[Slot, ...]
    violations: tuple[Violation, ...]


def _check_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, not {value!r}")


def _check_window(start_year, years, per_year) -> None:
    _check_int("start_year", start_year)
    _check_int("years", years)
    _check_int("per_year", per_year)
    if not 1 <= years <= MAX_YEARS:
        raise ValueError(f"years must be between 1 and {MAX_YEARS}, not {years}")
    if per_year not in PER_YEAR_CHOICES:
        raise ValueError(f"per_year must be 1 or 2, not {per_year}")


def _clean_hosts(hosts) -> tuple[str, ...]:
    if isinstance(hosts, str):
        raise ValueError("hosts must be a collection of host codes, not one string")
    codes = set()
    for code in hosts:
        if not isinstance(code, str) or not code:
            raise ValueError(f"a host code must be a non-empty string, not {code!r}")
        codes.add(code)
    if not codes:
        raise ValueError("there must be at least one eligible host")
    return tuple(sorted(codes))


def _joined(codes: Iterable[str], limit: int = 6) -> str:
    codes = list(codes)
    if len(codes) > limit:
        return ", ".join(codes[:limit]) + f" and {len(codes) - limit} more"
    return ", ".join(codes)


def validate_pins(hosts, pins, *, start_year, years, per_year) -> list[Violation]:
    """Check pins as an organiser enters them: what :func:`build_plan` would ignore or report.

    Reports a pin outside the plan's years or slots (``pin_outside_range``), a host that is not eligible
    (``pin_unknown_host``), two different hosts pinned to one slot (``pin_conflict``, once per slot) and the
    same host pinned to both meetings of a year (``same_host_in_year``, rule 3).

    :return: the violations in (year, slot) order; empty when every pin is fine.
    :raise ValueError: ``hosts``, ``years`` or ``per_year`` are not valid.
    """
    _check_window(start_year, years, per_year)
    eligible = set(_clean_hosts(hosts))
    last_year = start_year + years - 1
    found: list[tuple[tuple, Violation]] = []
    by_slot: dict[tuple[int, int], set[str]] = {}
    for pin in sorted(pins, key=lambda p: (p.year, p.slot, p.host)):
        params = {"year": pin.year, "slot": pin.slot, "host": pin.host}
        if not (start_year <= pin.year <= last_year and 1 <= pin.slot <= per_year):
            params.update(first_year=start_year, last_year=last_year, per_year=per_year)
            message = (f"The pin of {pin.host} for {pin.year} (meeting {pin.slot}) is outside the plan: years "
                       f"{start_year}-{last_year}, {per_year} meeting(s) a year.")
            found.append(((pin.year, pin.slot, 0, pin.host), Violation(5, "pin_outside_range", message, params)))
            continue
        if pin.host not in eligible:
            message = f"{pin.host} is pinned for {pin.year} (meeting {pin.slot}) but is not an eligible host."
            found.append(((pin.year, pin.slot, 1, pin.host), Violation(5, "pin_unknown_host", message, params)))
        by_slot.setdefault((pin.year, pin.slot), set()).add(pin.host)
    for (year, slot), codes in by_slot.items():
        if len(codes) > 1:
            names = _joined(sorted(codes))
            message = f"Two or more hosts are pinned for {year} (meeting {slot}): {names}; one slot has one host."
            found.append(((year, slot, 2, ""), Violation(5, "pin_conflict", message,
                                                        {"year": year, "slot": slot, "hosts": names})))
    for year in range(start_year, last_year + 1):
        both = by_slot.get((year, 1), set()) & by_slot.get((year, 2), set())
        for host in sorted(both):
            message = f"{host} is pinned for both meetings of {year}; the two hosts of a year must differ."
            found.append(((year, 2, 3, host), Violation(3, "same_host_in_year", message,
                                                        {"year": year, "host": host})))
    return [violation for _, violation in sorted(found, key=lambda item: item[0])]


class _Planner:
    """The state of one :func:`build_plan` run (see the module docstring for the algorithm)."""

    def __init__(self, hosts, history, start_year, years, per_year, pins, exclusions):
        self.hosts = hosts
        self.eligible = frozenset(hosts)
        self.start_year = start_year
        self.per_year = per_year
        self.size = years * per_year
        self.until: dict[str, int] = {}
        for exclusion in exclusions:
            _check_int("Exclusion.until_year", exclusion.until_year)
            if exclusion.host in self.eligible:
                self.until[exclusion.host] = max(self.until.get(exclusion.host, exclusion.until_year),
                                                 exclusion.until_year)
        self.notes: dict[int, list[Violation]] = {}  # position -> rule 5 notes about pins
        self.fixed: dict[int, tuple[str, str]] = {}  # position -> (host, "held" | "pinned")
        past = self._read_history(history)
        self._read_pins(pins)
        self.fixed_positions = sorted(self.fixed)
        self.fixed_of: dict[str, list[int]] = {}
        for position in self.fixed_positions:
            self.fixed_of.setdefault(self.fixed[position][0], []).append(position)

        # The walk of the history before the window: last meetings, the previous meeting, the current cycle.
        self.last: dict[str, tuple[int, int]] = {}
        self.previous: tuple[str, int, int] | None = None  # host, year, slot of the previous meeting
        self.done: set[str] = set()
        for meeting in past:
            self._record(meeting.host, meeting.year, meeting.slot)
        # Rank order of the eligible hosts, oldest first; a host that hosts moves to the end.
        self.order = sorted(hosts, key=lambda h: (h in self.last, self.last.get(h, (0, 0)), h))
        self.year_hosts: dict[int, dict[int, str]] = {}

    # --- inputs ------------------------------------------------------------------------------------------

    def position(self, year: int, slot: int) -> int:
        return (year - self.start_year) * self.per_year + slot - 1

    def year_slot(self, position: int) -> tuple[int, int]:
        return self.start_year + position // self.per_year, position % self.per_year + 1

    def _read_history(self, history) -> list[HeldMeeting]:
        seen: set[tuple[int, int]] = set()
        past = []
        for meeting in history:
            _check_int("HeldMeeting.year", meeting.year)
            _check_int("HeldMeeting.slot", meeting.slot)
            if meeting.slot not in (1, 2):
                raise ValueError(f"a held meeting's slot is 1 or 2, not {meeting.slot} ({meeting.year})")
            key = (meeting.year, meeting.slot)
            if key in seen:
                raise ValueError(f"the history has two meetings for {meeting.year} (meeting {meeting.slot})")
            seen.add(key)
            if meeting.year < self.start_year:
                past.append(meeting)
            elif meeting.slot <= self.per_year:
                self.fixed[self.position(*key)] = (meeting.host, REASON_HELD)
            elif self.position(meeting.year, 1) < self.size:
                raise ValueError(f"the history has a second meeting in {meeting.year} but the plan has one "
                                 "meeting a year")
        return sorted(past, key=lambda m: (m.year, m.slot))

    def _read_pins(self, pins) -> None:
        by_slot: dict[tuple[int, int], set[str]] = {}
        for pin in pins:
            _check_int("Pin.year", pin.year)
            _check_int("Pin.slot", pin.slot)
            if not 1 <= pin.slot <= self.per_year:
                raise ValueError(f"a pin's slot must be between 1 and {self.per_year}, not {pin.slot} "
                                 f"({pin.host}, {pin.year})")
            if pin.year >= self.start_year:  # earlier pins are past: the history speaks for those years
                by_slot.setdefault((pin.year, pin.slot), set()).add(pin.host)
        for (year, slot), codes in sorted(by_slot.items()):
            position = self.position(year, slot)
            names = _joined(sorted(codes))
            params = {"year": year, "slot": slot}
            if position in self.fixed:
                held = self.fixed[position][0]
                if codes != {held}:
                    self._note(position, Violation(
                        5, "pin_on_held_slot",
                        f"The pin of {names} for {year} (meeting {slot}) is ignored: {held} hosted that meeting.",
                        {**params, "host": names, "held_host": held}))
            elif len(codes) > 1:
                self._note(position, Violation(
                    5, "pin_conflict",
                    f"Several hosts are pinned for {year} (meeting {slot}): {names}; none of these pins is used.",
                    {**params, "hosts": names}))
            elif names not in self.eligible:
                self._note(position, Violation(
                    5, "pin_unknown_host",
                    f"The pin of {names} for {year} (meeting {slot}) is ignored: it is not an eligible host.",
                    {**params, "host": names}))
            else:
                self.fixed[position] = (names, REASON_PINNED)

    def _note(self, position: int, violation: Violation) -> None:
        if position < self.size:  # notes about later slots belong to a longer plan
            self.notes.setdefault(position, []).append(violation)

    def excluded(self, host: str, year: int) -> bool:
        return year < self.until.get(host, year)

    # --- the walk ----------------------------------------------------------------------------------------

    def _record(self, host: str, year: int, slot: int) -> None:
        """Account for a meeting of ``host``: its last meeting, the previous meeting, the cycle."""
        self.previous = (host, year, slot)
        self.last[host] = (year, slot)
        if host not in self.eligible:
            return
        if host in self.done:  # hosting again early (pin or history): this meeting starts the next cycle
            self.done = set()
        self.done.add(host)
        if len(self.done) == len(self.eligible):
            self.done = set()

    def _free_between(self, start: int, stop: int) -> int:
        """How many slots in positions [start, stop) are not fixed."""
        fixed = bisect.bisect_left(self.fixed_positions, stop) - bisect.bisect_left(self.fixed_positions, start)
        return stop - start - fixed

    def _next_fixed(self, host: str, position: int) -> int | None:
        positions = self.fixed_of.get(host, [])
        index = bisect.bisect_right(positions, position)
        return positions[index] if index < len(positions) else None

    def _reserved(self, position: int, due: list[str]) -> set[str]:
        """The due hosts that keep their turn in this cycle for a fixed slot ahead (step 3c)."""
        ahead = sorted((q, host) for host in due if (q := self._next_fixed(host, position)) is not None)
        reserved = set()
        for count, (q, host) in enumerate(ahead, start=1):
            if self._free_between(position, q) > len(due) - count:
                break  # the cycle would run out of hosts before this fixed slot: it lies in a later cycle
            reserved.add(host)
        return reserved

    def _choose(self, position: int, year: int) -> tuple[str | None, tuple[str, ...], bool]:
        """The host of a free slot, the deferred hosts, and whether rule 2 blocked a due host."""
        previous = self.previous[0] if self.previous else None
        following = self.fixed.get(position + 1, (None,))[0]
        if len(self.eligible) == 1:
            host = self.hosts[0]
            if self.excluded(host, year):
                return None, (host,), False
            return host, (), False
        due = [host for host in self.order if host not in self.done]
        reserved = self._reserved(position, due)
        free = [host for host in due if host not in reserved]
        deferred: list[str] = []
        blocked = False
        for host in free:
            if self.excluded(host, year):
                deferred.append(host)
            elif host in (previous, following):
                blocked = True
            else:
                return self._swap_before_fixed(position, year, host, free, previous), tuple(deferred), blocked
        return None, tuple(deferred), blocked

    def _swap_before_fixed(self, position: int, year: int, host: str, free: list[str], previous) -> str:
        """Step 3's swap: take the other of the two last due hosts if ``host`` would leave the fixed slot's
        host for the free slot right before that fixed slot (rule 2)."""
        index = bisect.bisect_right(self.fixed_positions, position)
        if len(free) != 2 or index == len(self.fixed_positions):
            return host
        fixed_position = self.fixed_positions[index]
        other = free[1] if free[0] == host else free[0]
        if (self.fixed[fixed_position][0] == other and self._free_between(position, fixed_position) == 2
                and other != previous and not self.excluded(other, year)):
            return other
        return host

    def _audit(self, host: str, year: int, slot: int) -> list[Violation]:
        """Rules 1-3 for a meeting of ``host`` at (year, slot), against the meetings before it."""
        found = []
        if host in self.eligible and host in self.done:
            waiting = _joined(h for h in self.order if h not in self.done)
            found.append(Violation(
                1, "host_twice_in_cycle",
                f"{host} hosts again in {year} (meeting {slot}) before {waiting} hosted in this cycle.",
                {"host": host, "year": year, "slot": slot, "waiting": waiting}))
        if self.previous and self.previous[0] == host:
            _, previous_year, previous_slot = self.previous
            why = " (it is the only eligible host)" if self.eligible == {host} else ""
            found.append(Violation(
                2, "same_host_consecutive",
                f"{host} hosts two meetings in a row: {previous_year} (meeting {previous_slot}) and {year} "
                f"(meeting {slot}){why}.",
                {"host": host, "year": year, "slot": slot, "previous_year": previous_year,
                 "previous_slot": previous_slot}))
        if slot == 2 and self.year_hosts.get(year, {}).get(1) == host:
            found.append(Violation(
                3, "same_host_in_year", f"{host} hosts both meetings of {year}.", {"host": host, "year": year}))
        return found

    def run(self) -> Plan:
        slots = []
        for position in range(self.size):
            year, slot = self.year_slot(position)
            violations = list(self.notes.get(position, []))
            deferred: tuple[str, ...] = ()
            if position in self.fixed:
                host, reason = self.fixed[position]
                if reason == REASON_PINNED and self.excluded(host, year):
                    violations.append(Violation(
                        5, "pin_excluded_host",
                        f"{host} is pinned for {year} (meeting {slot}) although it is excluded until "
                        f"{self.until[host]}; the pin is honoured.",
                        {"host": host, "year": year, "slot": slot, "until_year": self.until[host]}))
            else:
                host, deferred, blocked = self._choose(position, year)
                if host is None:
                    reason = REASON_NO_HOST
                    violations.append(self._no_host(year, slot, deferred, blocked))
                else:
                    reason = REASON_NEVER_HOSTED if host not in self.last else REASON_LONGEST
            last_hosted = None
            if host is not None:
                violations.extend(self._audit(host, year, slot))
                last_hosted = self.last[host][0] if host in self.last else None
                if host in self.eligible:  # it now has the newest last meeting: last in rank order
                    self.order.remove(host)
                    self.order.append(host)
                self.year_hosts.setdefault(year, {})[slot] = host
                self._record(host, year, slot)
            slots.append(Slot(year, slot, host, reason, last_hosted, deferred, tuple(violations)))
        return Plan(tuple(slots), tuple(v for s in slots for v in s.violations))

    def _no_host(self, year: int, slot: int, deferred: tuple[str, ...], blocked: bool) -> Violation:
        params = {"year": year, "slot": slot, "hosts": _joined(deferred)}
        if blocked:
            message = (f"No host for {year} (meeting {slot}): the hosts still due in this cycle would host two "
                       "meetings in a row or are excluded.")
            return Violation(2, "no_eligible_host", message, params)
        if deferred:
            message = (f"No host for {year} (meeting {slot}): the hosts still due in this cycle ({params['hosts']}) "
                       "are excluded that year; the cycle waits for them.")
        else:
            message = (f"No host for {year} (meeting {slot}): the hosts still due in this cycle are pinned to "
                       "later meetings.")
        return Violation(1, "no_eligible_host", message, params)


def build_plan(hosts, history, *, start_year: int, years: int, per_year: int = 1,
               pins=(), exclusions=()) -> Plan:
    """Plan the hosts of ``years`` years from ``start_year``, ``per_year`` meetings a year.

    :param hosts: the eligible host codes (any order; duplicates are merged).
    :param history: :class:`HeldMeeting` records. Those before ``start_year`` set each host's last meeting and
        the current cycle; those inside the window appear as "held" slots.
    :param pins: :class:`Pin` records; pins before ``start_year`` are ignored (the history speaks for them),
        pins after the window are looked at so that a longer plan starts the same way.
    :param exclusions: :class:`Exclusion` records; exclusions of hosts that are not eligible are ignored.
    :return: the :class:`Plan`; see the module docstring for the rules and how violations are reported.
    :raise ValueError: bad arguments: no hosts, ``years`` outside 1..100, ``per_year`` not 1 or 2, a pin's slot
        outside 1..per_year, a held meeting's slot not 1 or 2, two held meetings for one slot, or a second
        held meeting of a year inside a one-meeting-a-year window.
    """
    _check_window(start_year, years, per_year)
    codes = _clean_hosts(hosts)
    return _Planner(codes, history, start_year, years, per_year, pins, exclusions).run()
