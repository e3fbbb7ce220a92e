"""Unit tests for app/meetings/rotation/engine.py, the pure host rotation planner (no Flask app, no database).

The property tests generate random hosts, histories, pins and exclusions and check every plan with
``check_plan``, an independent checker written from the rules of CONTRACTS.md §3 (it does not call the
engine's helpers): every rule holds at every slot, or the slot reports a violation of that rule.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from app.meetings.rotation.engine import Exclusion
from app.meetings.rotation.engine import HeldMeeting
from app.meetings.rotation.engine import Pin
from app.meetings.rotation.engine import build_plan
from app.meetings.rotation.engine import validate_pins

ROOT = Path(__file__).resolve().parents[2]
REGIONS_CSV = ROOT / "app" / "regions" / "data" / "regions.csv"
START = 2030
PLANNED_REASONS = {"never hosted", "longest since last hosted"}
RULE_CODES = {1: "host_twice_in_cycle", 2: "same_host_consecutive", 3: "same_host_in_year"}
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- the independent checker ------------------------------------------------------------------------------


def check_plan(case: dict, plan) -> None:
    """Assert that ``plan`` keeps the rules of CONTRACTS.md §3 for the inputs in ``case`` (or reports why not)."""
    hosts = set(case["hosts"])
    start, years, per_year = case["start_year"], case["years"], case["per_year"]
    window = [(start + i // per_year, i % per_year + 1) for i in range(years * per_year)]
    assert [(s.year, s.slot) for s in plan.slots] == window
    assert list(plan.violations) == [v for s in plan.slots for v in s.violations]

    held = {(m.year, m.slot): m.host for m in case["history"]}
    pinned_hosts = defaultdict(set)
    for pin in case["pins"]:
        pinned_hosts[(pin.year, pin.slot)].add(pin.host)
    # A pin counts when it is the only host pinned to a slot that did not take place yet, and is eligible.
    pins = {key: next(iter(codes)) for key, codes in pinned_hosts.items()
            if len(codes) == 1 and key not in held and next(iter(codes)) in hosts and key[0] >= start}
    fixed = {key: host for key, host in held.items() if key[0] >= start and key[1] <= per_year} | pins
    until = {}
    for exclusion in case["exclusions"]:
        until[exclusion.host] = max(until.get(exclusion.host, exclusion.until_year), exclusion.until_year)

    def excluded(host, year):
        return year < until.get(host, year)

    def after(index):  # the (year, slot) after window slot ``index``
        year, slot = window[index]
        return (year, slot + 1) if slot < per_year else (year + 1, 1)

    def codes_at(slot):
        return {v.code for v in slot.violations}

    # Where each host hosts inside the window, to tell "kept for a fixed slot" from "skipped".
    hosting = defaultdict(list)
    for i, s in enumerate(plan.slots):
        if s.host is not None:
            hosting[s.host].append(i)
    later_pins = defaultdict(list)
    for key, host in fixed.items():
        if key > window[-1]:
            later_pins[host].append(key)

    def kept_for_fixed_slot(host, i):
        """The next meeting of ``host`` after slot i is a held or pinned one."""
        nexts = [j for j in hosting[host] if j > i]
        if nexts:
            return window[nexts[0]] in fixed
        return bool(later_pins[host])

    hosts_in_window = [s.host for s in plan.slots]

    past = sorted((m for m in case["history"] if m.year < start), key=lambda m: (m.year, m.slot))
    previous_before_window = past[-1].host if past else None

    # Walk the meetings: history first, then the window.
    last: dict[str, tuple[int, int]] = {}
    cycle: set[str] = set()
    previous = None

    def account(host, year, slot):
        nonlocal cycle, previous
        previous = host
        last[host] = (year, slot)
        if host in hosts:
            if host in cycle:
                cycle = set()
            cycle.add(host)
            if cycle == hosts:
                cycle = set()

    for meeting in past:
        account(meeting.host, meeting.year, meeting.slot)

    def rank(host):
        return (0, (0, 0), host) if host not in last else (1, last[host], host)

    for i, s in enumerate(plan.slots):
        key = (s.year, s.slot)
        following_fixed = fixed.get(after(i))
        due = hosts - cycle
        if key in held:
            assert (s.host, s.reason) == (held[key], "held")
            if pinned_hosts.get(key, {held[key]}) != {held[key]}:
                assert "pin_on_held_slot" in codes_at(s)
        elif key in pins:
            assert (s.host, s.reason) == (pins[key], "pinned"), "a pin is not honoured"
            if excluded(s.host, s.year):
                assert "pin_excluded_host" in codes_at(s)
        else:
            assert s.reason in PLANNED_REASONS | {"no eligible host"}
            assert (s.host is None) == (s.reason == "no eligible host")
            if key in pinned_hosts:
                assert codes_at(s) & {"pin_conflict", "pin_unknown_host"}
        if s.host is None:
            assert s.last_hosted is None
            assert "no_eligible_host" in codes_at(s)
            if len(hosts) == 1:
                assert excluded(next(iter(hosts)), s.year)
            else:
                # Nobody could host: every due host is excluded, would host twice in a row, or keeps its
                # turn for a pinned slot later in the cycle.
                for host in due:
                    assert (excluded(host, s.year) or host in (previous, following_fixed)
                            or kept_for_fixed_slot(host, i)), f"{host} could have hosted {key}"
                # Excluded hosts are listed as deferred; one that keeps its turn for a pin may be left out.
                must = {h for h in due if excluded(h, s.year) and not kept_for_fixed_slot(h, i)}
                assert must <= set(s.deferred) <= {h for h in due if excluded(h, s.year)}
        else:
            assert s.last_hosted == (last[s.host][0] if s.host in last else None)
            broken = set()
            if s.host in hosts and s.host in cycle:
                broken.add(1)
            if s.host == previous:
                broken.add(2)
            if per_year == 2 and s.slot == 2 and plan.slots[i - 1].host == s.host:
                broken.add(3)
            reported = {v.rule for v in s.violations if v.code in RULE_CODES.values()}
            assert reported == broken, f"{key}: rules broken {broken}, reported {reported}"
            for rule in broken:
                assert RULE_CODES[rule] in codes_at(s)
        if s.reason in PLANNED_REASONS:
            assert s.host in hosts and s.host in due
            assert not excluded(s.host, s.year), "a planned host is excluded that year"
            assert s.reason == ("never hosted" if s.host not in last else "longest since last hosted")
            if len(hosts) > 1:
                assert s.host not in (previous, following_fixed)
                check_order(s, i, due, rank, excluded, previous, following_fixed, kept_for_fixed_slot,
                            hosting, hosts_in_window, fixed, window, after, previous_before_window)
        elif s.reason != "no eligible host":
            assert s.deferred == ()
        if s.host is not None:
            account(s.host, s.year, s.slot)


def check_order(s, i, due, rank, excluded, previous, following_fixed, kept_for_fixed_slot, hosting,
                sequence, fixed, window, after, previous_before_window):
    """Rule 4 at a planned slot: no due host that ranks before the chosen one could have hosted instead.

    An older host is excused when it is excluded that year (then it is listed as deferred), would host twice
    in a row, keeps its turn for a pinned slot later, or when swapping it with the chosen host would make a
    host host twice in a row (rule 2 before rule 4).
    """
    passed_over = [h for h in due if rank(h) < rank(s.host)]
    deferred = set()
    for host in passed_over:
        if excluded(host, s.year):
            deferred.add(host)
            continue
        if kept_for_fixed_slot(host, i):
            continue
        if host in (previous, following_fixed):
            continue
        later = [j for j in hosting[host] if j > i]
        if not later and any(key > window[-1] for key in fixed):
            continue  # the swap it is part of ends after the window, before a pin of a later year
        assert later, f"{host} ranks before {s.host} at {(s.year, s.slot)} and never hosts later"
        swapped = list(sequence)
        swapped[i], swapped[later[0]] = host, s.host
        assert swap_breaks_rule_2(swapped, (i, later[0]), fixed, window, after, previous_before_window), (
            f"{host} ranks before {s.host} at {(s.year, s.slot)} and could have hosted there")
    # Excluded hosts that rank before the chosen one are listed as deferred (one that keeps its turn for a
    # pin may be left out: it is not being passed over).
    assert {h for h in deferred if not kept_for_fixed_slot(h, i)} <= set(s.deferred) <= deferred


def swap_breaks_rule_2(sequence, changed, fixed, window, after, previous_before_window) -> bool:
    """Whether a host of the changed window slots hosts the meeting before or after its own."""
    for i in changed:
        before = next((h for h in reversed(sequence[:i]) if h is not None), previous_before_window)
        following = next((h for h in sequence[i + 1:] if h is not None), None)
        if following is None:
            following = fixed.get(after(len(sequence) - 1))
        if sequence[i] in (before, following):
            return True
    return False


# --- strategies -------------------------------------------------------------------------------------------


@st.composite
def cases(draw, max_hosts=200):
    """Random but consistent inputs: a past of meetings, maybe some held ones inside the window, pins and
    exclusions (some of them bad: unknown hosts, two hosts on one slot, pins on held slots)."""
    count = draw(st.one_of(st.integers(1, 6), st.integers(1, max_hosts)))
    codes = sorted(draw(st.sets(st.integers(0, 999), min_size=count, max_size=count)))
    hosts = [f"H{n:03d}" for n in codes]
    former = ["X-OLD", "Y-OLD"]  # hosts that are no longer eligible
    per_year = draw(st.integers(1, 2))
    years = draw(st.integers(1, 30))
    anyone = st.sampled_from(hosts + former)

    history = []
    past_years = draw(st.integers(0, min(3 * len(hosts), 40)))
    for year in range(START - past_years, START):
        meetings = draw(st.sampled_from([(), (1,), (1, 2), (2,)]))
        history += [HeldMeeting(year, slot, draw(anyone)) for slot in meetings]
    window = [(START + i // per_year, i % per_year + 1) for i in range(years * per_year)]
    held_count = draw(st.integers(0, min(3, len(window))))
    held_keys = window[:held_count] + draw(st.lists(st.sampled_from(window), max_size=2, unique=True))
    history += [HeldMeeting(year, slot, draw(anyone)) for year, slot in sorted(set(held_keys))]

    later = [(START + years + k, slot) for k in range(3) for slot in range(1, per_year + 1)]
    pin_keys = draw(st.lists(st.sampled_from(window + later), max_size=6))
    pin_hosts = st.one_of(st.sampled_from(hosts), st.sampled_from(["UNKNOWN", *hosts[:1]]))
    pins = [Pin(year, slot, draw(pin_hosts), "test") for year, slot in pin_keys]
    exclusions = [Exclusion(draw(st.sampled_from(hosts)), START + draw(st.integers(-2, years + 3)), "test")
                  for _ in range(draw(st.integers(0, min(len(hosts), 8))))]
    if draw(st.booleans()) and len(hosts) <= 6:
        # Sometimes exclude everybody for a while.
        exclusions += [Exclusion(host, START + draw(st.integers(0, 5))) for host in hosts]
    return {"hosts": hosts, "history": history, "start_year": START, "years": years, "per_year": per_year,
            "pins": pins, "exclusions": exclusions}


def plan_of(case):
    return build_plan(case["hosts"], case["history"], start_year=case["start_year"], years=case["years"],
                      per_year=case["per_year"], pins=case["pins"], exclusions=case["exclusions"])


# --- property tests ---------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(cases())
def test_every_rule_holds_or_is_reported_on_random_plans(case):
    check_plan(case, plan_of(case))


@PROPERTY_SETTINGS
@given(cases(max_hosts=12))
def test_every_rule_holds_or_is_reported_with_few_hosts(case):
    # Few hosts make cycles short, so cycle ends, pins and exclusions meet far more often.
    check_plan(case, plan_of(case))


@PROPERTY_SETTINGS
@given(cases(max_hosts=30), st.randoms(use_true_random=False))
def test_same_inputs_in_any_order_give_the_same_plan(case, rnd):
    plan = plan_of(case)
    assert plan_of(case) == plan
    shuffled = {key: list(value) if isinstance(value, list) else value for key, value in case.items()}
    for key in ("hosts", "history", "pins", "exclusions"):
        rnd.shuffle(shuffled[key])
    assert plan_of(shuffled) == plan


@PROPERTY_SETTINGS
@given(cases(max_hosts=30), st.integers(1, 30))
def test_a_shorter_plan_is_the_beginning_of_a_longer_one(case, extra):
    longer = plan_of({**case, "years": case["years"] + extra})
    assert plan_of(case).slots == longer.slots[: len(plan_of(case).slots)]


@PROPERTY_SETTINGS
@given(cases(max_hosts=12))
def test_deferred_hosts_host_as_soon_as_they_are_back(case):
    plan = plan_of(case)
    until = defaultdict(int)
    for exclusion in case["exclusions"]:
        until[exclusion.host] = max(until[exclusion.host], exclusion.until_year)
    fixed_hosts = {p.host for p in case["pins"]} | {m.host for m in case["history"] if m.year >= START}
    deferred_so_far = set()
    for i, s in enumerate(plan.slots):
        deferred_so_far |= set(s.deferred)
        for host in s.deferred:
            assert s.year < until[host]
            if host in fixed_hosts:
                continue  # a pin or a held meeting may place it anywhere
            back = next((j for j, t in enumerate(plan.slots) if j > i and t.year >= until[host]
                         and t.reason not in ("held", "pinned")), None)
            if any(t.host == host for t in plan.slots[i + 1:back]):
                raise AssertionError(f"{host} hosts while excluded")
            if back is not None:
                first = plan.slots[back]
                # It hosts there, unless another host that was deferred (and ranks before it) is back too.
                assert first.host == host or first.host in deferred_so_far, (
                    f"{host} is back in {until[host]} but {first.host} hosts {first.year}")


# --- edge cases -------------------------------------------------------------------------------------------


def hosts_of(plan):
    return [s.host for s in plan.slots]


def test_one_host_hosts_every_meeting_and_rule_2_is_reported():
    plan = build_plan(["KZ-75"], [HeldMeeting(2025, 1, "KZ-75")], start_year=2026, years=3)
    assert hosts_of(plan) == ["KZ-75"] * 3
    assert [s.reason for s in plan.slots] == ["longest since last hosted"] * 3
    assert [[v.code for v in s.violations] for s in plan.slots] == [["same_host_consecutive"]] * 3
    assert all(v.rule == 2 for v in plan.violations)
    assert "only eligible host" in plan.violations[0].message


def test_one_host_with_two_meetings_a_year_reports_rule_3():
    plan = build_plan(["A"], [], start_year=2026, years=2, per_year=2)
    assert hosts_of(plan) == ["A"] * 4
    assert plan.slots[0].violations == ()
    assert {v.code for v in plan.slots[1].violations} == {"same_host_consecutive", "same_host_in_year"}
    assert {v.code for v in plan.slots[2].violations} == {"same_host_consecutive"}


def test_two_hosts_alternate():
    plan = build_plan(["B", "A"], [HeldMeeting(2020, 1, "B")], start_year=2021, years=5)
    assert hosts_of(plan) == ["A", "B", "A", "B", "A"]
    assert [s.reason for s in plan.slots][:2] == ["never hosted", "longest since last hosted"]
    assert plan.violations == ()
    two_a_year = build_plan(["A", "B"], [], start_year=2021, years=3, per_year=2)
    assert hosts_of(two_a_year) == ["A", "B"] * 3


def test_two_meetings_a_year_have_two_hosts_and_the_first_meeting_is_older():
    # B hosted the first meeting of 2025 and A the second: B has waited longer, so B goes before A.
    history = [HeldMeeting(2025, 1, "B"), HeldMeeting(2025, 2, "A")]
    plan = build_plan(list("ABCD"), history, start_year=2026, years=3, per_year=2)
    assert [(s.year, s.slot, s.host) for s in plan.slots] == [
        (2026, 1, "C"), (2026, 2, "D"), (2027, 1, "B"), (2027, 2, "A"), (2028, 1, "C"), (2028, 2, "D")]
    assert [s.last_hosted for s in plan.slots] == [None, None, 2025, 2025, 2026, 2026]
    assert plan.violations == ()


def test_every_host_excluded_leaves_the_slots_empty_until_they_return():
    plan = build_plan(["A", "B", "C"], [], start_year=2026, years=4,
                      exclusions=[Exclusion(h, 2028, "election year") for h in "ABC"])
    assert hosts_of(plan) == [None, None, "A", "B"]
    assert plan.slots[0].reason == "no eligible host"
    assert plan.slots[0].deferred == ("A", "B", "C")
    assert [v.code for v in plan.slots[0].violations] == ["no_eligible_host"]
    assert plan.slots[0].violations[0].rule == 1


def test_an_excluded_host_keeps_its_place_and_hosts_first_when_back():
    # C would be next (oldest); excluded until 2027 it is deferred, then hosts in 2027 before A and B.
    history = [HeldMeeting(2020, 1, "C"), HeldMeeting(2021, 1, "D"), HeldMeeting(2022, 1, "A"),
               HeldMeeting(2023, 1, "B")]
    plan = build_plan(["A", "B", "C", "D", "E", "F"], history, start_year=2024, years=6,
                      exclusions=[Exclusion("C", 2027, "hosting the Games")])
    assert hosts_of(plan) == ["E", "F", "D", "C", "A", "B"]
    assert [s.deferred for s in plan.slots] == [(), (), ("C",), (), (), ()]
    assert plan.slots[3].reason == "longest since last hosted"
    assert plan.slots[3].last_hosted == 2020


def test_the_cycle_waits_for_an_excluded_host_instead_of_skipping_it():
    # A and B hosted in this cycle; C is excluded until 2028: nobody may host a second time before C.
    history = [HeldMeeting(2024, 1, "A"), HeldMeeting(2025, 1, "B")]
    plan = build_plan(["A", "B", "C"], history, start_year=2026, years=4, exclusions=[Exclusion("C", 2028)])
    assert hosts_of(plan) == [None, None, "C", "A"]
    assert plan.slots[0].deferred == ("C",)
    assert "waits" in plan.slots[0].violations[0].message


def test_pinning_the_previous_host_reports_rule_2():
    # The cycle B, C, A is complete, so the pin breaks rule 2 only.
    history = [HeldMeeting(2023, 1, "B"), HeldMeeting(2024, 1, "C"), HeldMeeting(2025, 1, "A")]
    plan = build_plan(["A", "B", "C"], history, start_year=2026, years=3, pins=[Pin(2026, 1, "A", "anniversary")])
    assert plan.slots[0].host == "A" and plan.slots[0].reason == "pinned"
    (violation,) = plan.slots[0].violations
    assert (violation.rule, violation.code) == (2, "same_host_consecutive")
    assert violation.params == {"host": "A", "year": 2026, "slot": 1, "previous_year": 2025, "previous_slot": 1}
    assert "2025" in violation.message and "2026" in violation.message
    assert hosts_of(plan) == ["A", "B", "C"]


def test_a_pin_that_repeats_a_host_in_its_cycle_reports_rule_1():
    plan = build_plan(["A", "B", "C"], [HeldMeeting(2025, 1, "A")], start_year=2026, years=3,
                      pins=[Pin(2027, 1, "A")])
    assert hosts_of(plan) == ["B", "A", "C"]
    assert [v.code for v in plan.slots[1].violations] == ["host_twice_in_cycle"]
    assert plan.slots[1].violations[0].params["waiting"] == "C"


def test_a_pinned_host_keeps_its_turn_for_the_pin():
    plan = build_plan(["A", "B", "C", "D"], [], start_year=2026, years=6, pins=[Pin(2028, 1, "A")])
    assert hosts_of(plan) == ["B", "C", "A", "D", "B", "C"]
    assert plan.violations == ()
    # Five hosts, C pinned for 2029, inside the cycle that starts in 2026: C waits for its pin.
    history = [HeldMeeting(2021 + n, 1, code) for n, code in enumerate("ABCDE")]
    plan = build_plan(list("ABCDE"), history, start_year=2026, years=6, pins=[Pin(2029, 1, "C")])
    assert hosts_of(plan) == ["A", "B", "D", "C", "E", "A"]
    assert plan.violations == ()


def test_a_pin_right_after_the_cycle_swaps_the_last_two_hosts():
    # The pin of C (2027) lies in the next cycle. By rank alone the cycle is A, B, C and C would host 2026
    # and 2027 in a row, so the last two are swapped: A, C, B, then the pinned C opens the next cycle.
    history = [HeldMeeting(2021, 1, "A"), HeldMeeting(2022, 1, "B"), HeldMeeting(2023, 1, "C")]
    plan = build_plan(list("ABC"), history, start_year=2024, years=5, pins=[Pin(2027, 1, "C")])
    assert hosts_of(plan) == ["A", "C", "B", "C", "A"]
    assert [s.reason for s in plan.slots] == ["longest since last hosted"] * 3 + ["pinned",
                                                                                  "longest since last hosted"]
    assert plan.violations == ()


def test_a_pin_that_leaves_no_host_for_the_slot_before_it_says_why():
    # A hosted last; B is the only host due and is pinned for 2027: 2026 can have neither A nor B.
    plan = build_plan(["A", "B"], [HeldMeeting(2025, 1, "A")], start_year=2026, years=3, pins=[Pin(2027, 1, "B")])
    assert hosts_of(plan) == [None, "B", "A"]
    (violation,) = plan.slots[0].violations
    assert (violation.rule, violation.code) == (2, "no_eligible_host")


def test_bad_pins_are_reported_and_not_used():
    history = [HeldMeeting(2026, 1, "A")]
    pins = [Pin(2026, 1, "B"), Pin(2027, 1, "B"), Pin(2027, 1, "C"), Pin(2028, 1, "Z")]
    plan = build_plan(list("ABC"), history, start_year=2026, years=3, pins=pins)
    assert [[v.code for v in s.violations] for s in plan.slots] == [
        ["pin_on_held_slot"], ["pin_conflict"], ["pin_unknown_host"]]
    assert all(v.rule == 5 for v in plan.violations)
    assert [(s.host, s.reason) for s in plan.slots] == [("A", "held"), ("B", "never hosted"), ("C", "never hosted")]


def test_a_pin_of_an_excluded_host_is_honoured_and_reported():
    plan = build_plan(list("ABC"), [], start_year=2026, years=2, pins=[Pin(2026, 1, "C")],
                      exclusions=[Exclusion("C", 2030)])
    assert hosts_of(plan) == ["C", "A"]
    assert [v.code for v in plan.violations] == ["pin_excluded_host"]
    assert plan.violations[0].params["until_year"] == 2030


def test_validate_pins():
    pins = [Pin(2025, 1, "A"), Pin(2040, 1, "A"), Pin(2027, 2, "A"), Pin(2027, 1, "Q"), Pin(2028, 1, "A"),
            Pin(2028, 1, "B"), Pin(2029, 1, "C"), Pin(2029, 2, "C"), Pin(2030, 1, "A")]
    found = validate_pins(list("ABC"), pins, start_year=2026, years=5, per_year=2)
    assert [(v.rule, v.code, v.params.get("year")) for v in found] == [
        (5, "pin_outside_range", 2025),
        (5, "pin_unknown_host", 2027),
        (5, "pin_conflict", 2028),
        (3, "same_host_in_year", 2029),
        (5, "pin_outside_range", 2040),
    ]
    assert found[2].params["hosts"] == "A, B"
    assert validate_pins(list("ABC"), [Pin(2026, 1, "A"), Pin(2026, 2, "B")], start_year=2026, years=1,
                         per_year=2) == []
    one_a_year = validate_pins(list("ABC"), [Pin(2026, 2, "A")], start_year=2026, years=1, per_year=1)
    assert [v.code for v in one_a_year] == ["pin_outside_range"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"years": 0}, "years must be between 1 and 100"),
        ({"years": 101}, "years must be between 1 and 100"),
        ({"per_year": 3}, "per_year must be 1 or 2"),
        ({"start_year": "2026"}, "start_year must be a whole number"),
        ({"hosts": []}, "at least one eligible host"),
        ({"hosts": "KZ-75"}, "not one string"),
        ({"pins": [Pin(2026, 2, "A")]}, "slot must be between 1 and 1"),
        ({"history": [HeldMeeting(2020, 3, "A")]}, "slot is 1 or 2"),
        ({"history": [HeldMeeting(2020, 1, "A"), HeldMeeting(2020, 1, "B")]}, "two meetings for 2020"),
        ({"history": [HeldMeeting(2026, 2, "A")]}, "second meeting in 2026"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, message):
    arguments = {"hosts": ["A", "B"], "history": [], "start_year": 2026, "years": 3, "per_year": 1} | kwargs
    hosts, history = arguments.pop("hosts"), arguments.pop("history")
    with pytest.raises(ValueError, match=message):
        build_plan(hosts, history, **arguments)


def test_validate_pins_checks_its_arguments_too():
    with pytest.raises(ValueError, match="per_year must be 1 or 2"):
        validate_pins(["A"], [], start_year=2026, years=1, per_year=0)


def test_former_hosts_stay_in_the_history_but_not_in_the_cycle():
    # KZ-OLD hosted; it is no longer eligible, so its held meeting shows but the cycle needs only A and B.
    history = [HeldMeeting(2024, 1, "A"), HeldMeeting(2025, 1, "KZ-OLD")]
    plan = build_plan(["A", "B"], [*history, HeldMeeting(2026, 1, "KZ-OLD")], start_year=2026, years=3)
    assert [(s.host, s.reason) for s in plan.slots] == [("KZ-OLD", "held"), ("B", "never hosted"),
                                                         ("A", "longest since last hosted")]
    assert [v.code for v in plan.violations] == ["same_host_consecutive"]  # the record: KZ-OLD twice in a row


# --- the national rotation ----------------------------------------------------------------------------------


def region_codes():
    with REGIONS_CSV.open(encoding="utf-8", newline="") as f:
        return [row["iso_code"] for row in csv.DictReader(f)]


def test_national_plan_written_out_by_hand():
    codes = region_codes()
    assert len(codes) == 20
    random.Random(5).shuffle(codes)  # input order must not matter
    history = [
        HeldMeeting(2019, 1, "KZ-75"),  # Almaty
        HeldMeeting(2021, 1, "KZ-61"),  # Turkistan Region (no meeting in 2020)
        HeldMeeting(2022, 1, "KZ-71"),  # Astana
        HeldMeeting(2023, 1, "KZ-35"),  # Karaganda Region
        HeldMeeting(2024, 1, "KZ-47"),  # Mangystau Region
        HeldMeeting(2025, 1, "KZ-10"),  # Abai Region
        HeldMeeting(2026, 1, "KZ-11"),  # Akmola Region: held inside the window
    ]
    pins = [Pin(2029, 1, "KZ-79", "Shymkent anniversary")]
    exclusions = [Exclusion("KZ-15", 2030, "regional elections")]  # Aktobe is deferred, not skipped
    plan = build_plan(codes, history, start_year=2026, years=20, pins=pins, exclusions=exclusions)
    expected = [
        (2026, "KZ-11", "held", None, ()),
        (2027, "KZ-19", "never hosted", None, ("KZ-15",)),  # Aktobe's turn by code order: deferred
        (2028, "KZ-23", "never hosted", None, ("KZ-15",)),
        (2029, "KZ-79", "pinned", None, ()),
        (2030, "KZ-15", "never hosted", None, ()),  # Aktobe is back and first
        (2031, "KZ-27", "never hosted", None, ()),
        (2032, "KZ-31", "never hosted", None, ()),
        (2033, "KZ-33", "never hosted", None, ()),
        (2034, "KZ-39", "never hosted", None, ()),
        (2035, "KZ-43", "never hosted", None, ()),
        (2036, "KZ-55", "never hosted", None, ()),
        (2037, "KZ-59", "never hosted", None, ()),
        (2038, "KZ-62", "never hosted", None, ()),
        (2039, "KZ-63", "never hosted", None, ()),
        # The cycle that began with Almaty in 2019 is complete after 2039; the next one starts with the host
        # that has waited longest: Almaty again, then in the order of the first cycle.
        (2040, "KZ-75", "longest since last hosted", 2019, ()),
        (2041, "KZ-61", "longest since last hosted", 2021, ()),
        (2042, "KZ-71", "longest since last hosted", 2022, ()),
        (2043, "KZ-35", "longest since last hosted", 2023, ()),
        (2044, "KZ-47", "longest since last hosted", 2024, ()),
        (2045, "KZ-10", "longest since last hosted", 2025, ()),
    ]
    assert [(s.year, s.host, s.reason, s.last_hosted, s.deferred) for s in plan.slots] == expected
    assert plan.violations == ()
    check_plan({"hosts": codes, "history": history, "start_year": 2026, "years": 20, "per_year": 1,
                "pins": pins, "exclusions": exclusions}, plan)
