"""Benchmark of what the rules cost at intake: the same mail threaded with no rules and with 50 enabled rules.

    uv run python -m tests.perf.rules_bench [--messages 400] [--rules 50] [--runs 3]
                                            [--engines sqlite,postgresql,mariadb]

Per engine and run, on a fresh database (the default reference data, a mailbox): the corpus of tests.perf.mail_bench
(plain and HTML mail, attachments, ~30 % replies) is stored raw (`intake.store`), then threaded by
`intake.process_pending`, which is timed; once with no rules, once with `--rules` enabled rules, alternately. The
rules run on new tickets and on new messages, each with three conditions joined by "any" (so that every condition
is looked at): subject, body and sender texts by every operator, regular expressions, a department, a priority,
a channel and business hours; none matches, so what is measured is the evaluation every message pays. Prints the
median milliseconds per message of each and the difference: the target is at most 2 ms more per message. Figures
only, never assertions. PostgreSQL and MariaDB use the desk_mailbench databases (dropped and created anew).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from desk.domain.permissions import SystemActor
from desk.domain.rules import Action, ActionKind, Condition, Field, Op, RuleForm
from desk.domain.ticket_setup import Interval, ScheduleForm
from desk.services import rules, settings, ticket_setup
from desk.services.mail import intake
from desk.storage.db import Database
from desk.storage.models import Priority
from tests.perf.mail_bench import ENGINES, SERVER_URLS, build_corpus, fresh_database, seeded_number_generator

SYSTEM = SystemActor()


def rule_forms(db: Database, count: int) -> list[RuleForm]:
    """`count` rules that look at everything and match nothing in the corpus."""
    with db.transaction(write=False) as session:  # what every mailed ticket gets: "is not" them never holds
        department = settings.get(session, "ticket.default_department_id")
        priority = session.scalar(select(Priority.id).where(Priority.is_default.is_(True)))
    minute = ScheduleForm("Monday's first minute", "UTC", (Interval(0, 0, 1),))  # "within" it never holds here
    schedule = ticket_setup.save_schedule(db, SYSTEM, None, minute).id

    def conditions(n: int) -> tuple[Condition, ...]:
        shapes = (
            (
                Condition(Field.SUBJECT, Op.CONTAINS, f"zebra {n}"),
                Condition(Field.BODY, Op.CONTAINS, f"quokka{n}"),
                Condition(Field.SENDER_DOMAIN, Op.IS, f"nowhere{n}.example"),
            ),
            (
                Condition(Field.BODY, Op.REGEX, rf"\border\s*#?{n:03d}\d{{7}}\b"),
                Condition(Field.SUBJECT, Op.STARTS_WITH, f"[ticket-{n}]"),
                Condition(Field.SENDER, Op.IS, f"x{n}@y.example"),
            ),
            (
                Condition(Field.ORGANIZATION, Op.CONTAINS, f"Globex {n}"),
                Condition(Field.CHANNEL, Op.IS, "api"),
                Condition(Field.SUBJECT, Op.REGEX, rf"^(urgent|asap)\s*{n}!+$"),
            ),
            (
                Condition(Field.DEPARTMENT, Op.IS_NOT, str(department)),
                Condition(Field.PRIORITY, Op.IS_NOT, str(priority)),
                Condition(Field.BODY, Op.CONTAINS, f"unsubscribe-{n}"),
            ),
            (
                Condition(Field.BUSINESS_HOURS, Op.IS, str(schedule)),
                Condition(Field.CHANNEL, Op.IS, "agent"),
                Condition(Field.SUBJECT, Op.IS, f"hello {n}"),
            ),
        )
        return shapes[n % len(shapes)]

    note = (Action(ActionKind.NOTE, text="Looked at."),)
    return [
        RuleForm(f"Rule {n}", conditions(n), note, match_all=False, on_new_ticket=True, on_message=True)
        for n in range(count)
    ]


class HookClock:
    """The time spent inside the rules' hooks (rules.on_new_ticket and rules.on_message): wall and CPU."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def __enter__(self) -> HookClock:
        self._saved = rules.on_new_ticket, rules.on_message
        rules.on_new_ticket, rules.on_message = self._timed(rules.on_new_ticket), self._timed(rules.on_message)
        return self

    def __exit__(self, *_: object) -> None:
        rules.on_new_ticket, rules.on_message = self._saved

    def _timed(self, hook: Callable[..., None]) -> Callable[..., None]:
        def timed(*args: Any, **kwargs: Any) -> None:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                hook(*args, **kwargs)
            finally:
                self.wall += time.perf_counter() - wall
                self.cpu += time.process_time() - cpu

        return timed


def intake_ms(engine_name: str, url: str, raws: list[bytes], rule_count: int) -> tuple[float, float, float]:
    """Milliseconds per message threading the stored corpus with `rule_count` rules: in all (wall clock), and in
    the rules' hooks (wall clock, CPU)."""
    db = fresh_database(engine_name, url)
    try:
        if rule_count:
            for form in rule_forms(db, rule_count):
                rules.save_rule(db, SYSTEM, None, form)
        seeded_number_generator()
        for raw in raws:
            intake.store(db, None, None, raw)
        start = time.perf_counter()
        with HookClock() as hooks:
            outcome = intake.process_pending(db)
        elapsed = time.perf_counter() - start
        if sum(outcome.values()) != len(raws):
            print(f"    only {sum(outcome.values())} of {len(raws)} messages were threaded", flush=True)
        return elapsed * 1000 / len(raws), hooks.wall * 1000 / len(raws), hooks.cpu * 1000 / len(raws)
    finally:
        db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engines", default="sqlite")
    args = parser.parse_args(argv)
    raws = build_corpus(args.messages).raws
    print(f"{args.messages} messages, {args.rules} enabled rules, {args.runs} runs of each (alternating)", flush=True)
    with tempfile.TemporaryDirectory(prefix="desk-rulesbench-") as tmp:
        for engine_name in args.engines.split(","):
            if engine_name not in ENGINES:
                print(f"unknown engine {engine_name}", file=sys.stderr)
                return 2
            url = f"sqlite:///{tmp}/rulesbench.db" if engine_name == "sqlite" else SERVER_URLS[engine_name]
            without: list[tuple[float, float, float]] = []
            with_rules: list[tuple[float, float, float]] = []
            for _ in range(args.runs):
                without.append(intake_ms(engine_name, url, raws, 0))
                with_rules.append(intake_ms(engine_name, url, raws, args.rules))
            print(f"{engine_name}:", flush=True)
            for label, runs in (("no rules", without), (f"{args.rules} rules", with_rules)):
                total, hook_wall, hook_cpu = (statistics.median(run[i] for run in runs) for i in range(3))
                print(
                    f"  {label:>9}: intake {total:7.2f} ms/message (runs {', '.join(f'{r[0]:.2f}' for r in runs)}); "
                    f"in the rules' hooks {hook_wall:5.2f} ms wall, {hook_cpu:5.2f} ms CPU per message",
                    flush=True,
                )
            added = statistics.median(r[0] for r in with_rules) - statistics.median(r[0] for r in without)
            hooks = statistics.median(r[1] for r in with_rules) - statistics.median(r[1] for r in without)
            print(f"  difference: {added:+.2f} ms/message in all, {hooks:+.2f} ms in the hooks (target <= +2.00)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
