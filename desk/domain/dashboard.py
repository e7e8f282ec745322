"""The dashboard's key figures (the agent's own, and each department's they may see), and the queue each opens."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from desk.domain.enums import Queue
from desk.domain.queues import Criteria


class Figure(enum.StrEnum):
    OPEN = "open"
    OVERDUE = "overdue"
    DUE_TODAY = "due_today"
    UNASSIGNED = "unassigned"
    MINE = "mine"
    RESOLVED_TODAY = "resolved_today"
    FIRST_RESPONSE = "first_response"  # today's first replies: how many, and their median time


# The agent's own row: their tickets (unassigned and "mine" say nothing there).
MY_FIGURES = (Figure.OPEN, Figure.OVERDUE, Figure.DUE_TODAY, Figure.RESOLVED_TODAY, Figure.FIRST_RESPONSE)


@dataclass(frozen=True)
class KeyFigures:
    """One row of the dashboard. Counts are of open tickets except `resolved_today` (left the open state today) and
    `first_responses` (got their first reply today); `first_response_minutes` is the median time those took from
    opening to the first reply, wall-clock (None when there was none today)."""

    open: int = 0
    overdue: int = 0
    due_today: int = 0
    unassigned: int = 0
    mine: int = 0
    resolved_today: int = 0
    first_responses: int = 0
    first_response_minutes: float | None = None

    def count(self, figure: Figure) -> int:
        """How many tickets the figure stands for (the queue it opens holds as many)."""
        return int(getattr(self, "first_responses" if figure == Figure.FIRST_RESPONSE else figure.value))


@dataclass(frozen=True)
class DepartmentFigures:
    department_id: int
    name: str
    figures: KeyFigures


@dataclass(frozen=True)
class Dashboard:
    """The agent's day (`day_start` to `day_end`, their local midnights), their own figures, and each department's
    they may see, by name."""

    day_start: datetime
    day_end: datetime
    mine: KeyFigures
    departments: tuple[DepartmentFigures, ...]


def figure_criteria(
    figure: Figure, *, agent_id: int, department_id: int | None, day_start: datetime, day_end: datetime
) -> Criteria:
    """The tickets behind a figure, as a filter for the queue: of a department, or (None) the agent's own."""
    if department_id is None:
        of = Criteria(assignee_ids=(agent_id,))
    else:
        of = Criteria(department_ids=(department_id,))
    match figure:
        case Figure.OPEN:
            return replace(of, queue=Queue.OPEN)
        case Figure.OVERDUE:
            return replace(of, queue=Queue.OVERDUE)
        case Figure.DUE_TODAY:
            return replace(of, queue=Queue.OPEN, due_from=day_start, due_to=day_end)
        case Figure.UNASSIGNED:
            return replace(of, queue=Queue.UNASSIGNED)
        case Figure.MINE:
            return replace(of, queue=Queue.MINE)
        case Figure.RESOLVED_TODAY:
            return replace(of, queue=Queue.CLOSED, closed_from=day_start, closed_to=day_end)
        case Figure.FIRST_RESPONSE:
            return replace(of, responded_from=day_start, responded_to=day_end)
    raise AssertionError(figure)
