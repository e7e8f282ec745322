"""The rules' matching (desk.domain.rules), over generated texts, conditions and facts."""

from __future__ import annotations

import string
from datetime import UTC, datetime, time

import pytest
import regex
from hypothesis import given
from hypothesis import strategies as st

from desk.domain.rules import (
    TEXT_FIELDS,
    Action,
    ActionKind,
    Channel,
    Condition,
    Facts,
    Field,
    Op,
    RuleForm,
    RuleProblem,
    Trigger,
    form_problems,
    holds,
    matches,
    text_holds,
)
from desk.domain.sla import Schedule

ASCII = st.text(alphabet=string.printable, max_size=40)
MOMENT = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)  # a Monday evening
ALWAYS = Schedule("UTC", {day: ((time(0), time(0)),) for day in range(7)})
NINE_TO_FIVE = Schedule("Europe/Berlin", {day: ((time(9), time(17)),) for day in range(5)})


def facts(**given: object) -> Facts:
    values: dict[str, object] = {"trigger": Trigger.NEW_TICKET, "channel": Channel.MAIL, "sender": "kim@example.com",
                                 "subject": "Refund", "body": "Charged twice.", "moment": MOMENT}  # fmt: skip
    values.update(given)
    return Facts(**values)  # type: ignore[arg-type]


@given(text=st.text(max_size=60), needle=st.text(min_size=1, max_size=10))
def test_contains_starts_with_and_is_ignore_case(text: str, needle: str) -> None:
    folded, wanted = text.casefold(), needle.casefold()
    assert text_holds(Op.CONTAINS, needle, text) == (wanted in folded)
    assert text_holds(Op.STARTS_WITH, needle, text) == folded.lstrip().startswith(wanted)
    assert text_holds(Op.IS, needle, text) == (folded.strip() == wanted.strip())
    assert text_holds(Op.IS_NOT, needle, text) != text_holds(Op.IS, needle, text)
    assert text_holds(Op.CONTAINS, needle, text.upper() + needle.upper())


@given(text=ASCII, needle=ASCII.filter(bool))
def test_an_escaped_pattern_finds_what_contains_finds(text: str, needle: str) -> None:
    assert text_holds(Op.REGEX, regex.escape(needle), text) == text_holds(Op.CONTAINS, needle, text)


@given(
    conditions=st.lists(st.sampled_from(sorted(TEXT_FIELDS)).map(lambda f: Condition(f, Op.CONTAINS, "a")), max_size=5),
    subject=st.sampled_from(["a", "b"]),
    body=st.sampled_from(["a", "b"]),
    sender=st.sampled_from(["a@a.example", "b@b.example"]),
    match_all=st.booleans(),
)
def test_all_or_any_of_the_conditions(
    conditions: list[Condition], subject: str, body: str, sender: str, match_all: bool
) -> None:
    seen = facts(subject=subject, body=body, sender=sender, organization="")
    each = [holds(c, seen) for c in conditions]
    expected = (all(each) if match_all else any(each)) if conditions else True
    assert matches(conditions, match_all, seen) == expected


CHOICES = {Field.TOPIC: "topic_id", Field.PRIORITY: "priority_id", Field.DEPARTMENT: "department_id",
           Field.STATUS: "status_id", Field.MAILBOX: "mailbox_id"}  # fmt: skip


@given(field=st.sampled_from(sorted(CHOICES)), actual=st.none() | st.integers(1, 5), wanted=st.integers(1, 5))
def test_a_choice_is_or_is_not_the_ticket_s(field: Field, actual: int | None, wanted: int) -> None:
    seen = facts(**{CHOICES[field]: actual})
    assert holds(Condition(field, Op.IS, str(wanted)), seen) == (actual == wanted)
    assert holds(Condition(field, Op.IS_NOT, str(wanted)), seen) == (actual != wanted)


@given(kind=st.sampled_from(list(ActionKind)), target=st.integers(1, 9))
def test_an_action_changes_only_the_fact_it_sets(kind: ActionKind, target: int) -> None:
    before = facts(department_id=1, topic_id=1, priority_id=1, status_id=1)
    after = before.after(Action(kind, target))
    changed = {name for name in ("department_id", "topic_id", "priority_id", "status_id")
               if getattr(after, name) != getattr(before, name)}  # fmt: skip
    expected = {ActionKind.DEPARTMENT: "department_id", ActionKind.TOPIC: "topic_id",
                ActionKind.PRIORITY: "priority_id", ActionKind.STATUS: "status_id"}.get(kind)  # fmt: skip
    assert changed == ({expected} if expected and target != 1 else set())


@given(moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_business_hours_around_the_clock_always_hold(moment: datetime) -> None:
    seen = facts(moment=moment, schedules={1: ALWAYS})
    assert holds(Condition(Field.BUSINESS_HOURS, Op.IS, "1"), seen)
    assert not holds(Condition(Field.BUSINESS_HOURS, Op.IS_NOT, "1"), seen)


def test_business_hours_in_their_time_zone() -> None:
    evening, morning = (
        facts(schedules={2: NINE_TO_FIVE}),
        facts(moment=MOMENT.replace(hour=9), schedules={2: NINE_TO_FIVE}),
    )
    within = Condition(Field.BUSINESS_HOURS, Op.IS, "2")
    assert not holds(within, evening) and holds(within, morning)  # 21:00 and 10:00 in Berlin
    with pytest.raises(RuleProblem, match="no longer exist"):
        holds(within, facts(schedules={2: None}))


def test_a_pattern_that_backtracks_without_end_is_stopped() -> None:
    with pytest.raises(RuleProblem, match="took too long"):
        text_holds(Op.REGEX, r"(x+x+)+y", "x" * 5000)


@given(pattern=st.text(alphabet="()[]{}*+?|\\ab.^$", max_size=8))
def test_saving_refuses_exactly_the_patterns_that_do_not_compile(pattern: str) -> None:
    try:
        regex.compile(pattern)
        valid = bool(pattern.strip())
    except regex.error:
        valid = False
    form = RuleForm("R", (Condition(Field.SUBJECT, Op.REGEX, pattern),), (Action(ActionKind.STOP),))
    assert ("conditions.0" not in form_problems(form)) == valid


def test_only_new_tickets_can_be_rejected_and_choices_take_is_or_is_not() -> None:
    reject = (Action(ActionKind.REJECT),)
    assert "actions.0" in form_problems(RuleForm("R", actions=reject, on_message=True))
    assert form_problems(RuleForm("R", actions=reject)) == {}
    odd = RuleForm("R", (Condition(Field.DEPARTMENT, Op.CONTAINS, "1"),), reject)
    assert form_problems(odd) == {"conditions.0": "Choose “is” or “is not” for this field."}
