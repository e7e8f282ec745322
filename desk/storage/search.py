"""Full-text search over tickets: one normalised document per ticket, searched through each engine's own index.

`search_documents.content` holds the words of a ticket's number, subject, requester and thread entries, normalised
by `desk.domain.textsearch.words` (folded: no case, no accents, compatibility forms and digits made plain; no
stopwords, none under three letters, single spaces), so the three engines tokenise the same text alike: FTS5
(`ticket_fts`) on SQLite, a GIN index on `to_tsvector('simple', content)` on PostgreSQL and a FULLTEXT index on
MariaDB. A query matches when all its words occur, the last one as a prefix.

Why there are several plans: ranking costs time per match. bm25 reads each match's position lists (~3 us a match),
ts_rank parses each matching document again (~130 us: there is no stored tsvector) and InnoDB's MATCH builds its
whole result before returning a row (~60 us a match, and it cannot stop early). Ranking a word found in most of a
million documents takes 1.5 s (SQLite) to 80 s (PostgreSQL), so the plan follows how many documents match:

1. Sample: the SAMPLE newest documents are tested with a plain substring test on the normalised text (" word "
   and " prefix"), all terms together and each alone. Terms that match at least SAMPLE_FREQUENT of them are common:
   go to 3 without touching the index.
2. Otherwise a bounded probe counts the matches through the index, stopping after max(RANK_ALL_MAX, NEWEST_MAX)
   (FTS5 and GIN stop early; on MariaDB, where MATCH cannot, the sample decides alone and the plan is "ranked").
   - up to RANK_ALL_MAX: "ranked": every match is ranked (bm25; ts_rank normalised by log length; MATCH score over
     1 + ln(length)), ties newest first (updated_at DESC, id DESC); the best `limit` that `visible` allows.
   - up to NEWEST_MAX (PostgreSQL only, where ranking is dearest): "newest": all matches from the index, the
     `limit` most recently updated visible ones.
   - more: 3.
   On PostgreSQL and MariaDB a term found in ROW_TEST_FREQUENT of the sample is not given to the index, which would
   read its whole posting list first, but tested on the rows the rarer terms find.
3. "recent": with this many matches relevance means little, so the result is the `limit` most recently updated
   visible matches. Tickets are walked newest first through ix_tickets_state_updated (one ordered, bounded range
   scan per state, merged), in slices sized from the share of matches seen so far; each slice is checked in one
   statement, `visible` and the substring test on the document row by row. The cost follows
   limit / (share of visible matches), not the number of matches. Past WALK_MAX tickets (an actor who sees few of
   them) the walk gives up and the "newest" plan answers, exact but slower.

Every plan applies `visible` before the limit and returns only tickets that match every term. Documents and queries
are folded alike in Python, and MariaDB compares the column byte for byte (utf8mb4_bin), so the substring test and
the three indexes find exactly the same words (tests/storage/test_search.py compares them on generated text).
Thresholds and timings: tests/perf/search_bench.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    FromClause,
    Integer,
    Select,
    SQLColumnExpression,
    String,
    and_,
    case,
    cast,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Session

from desk.domain.enums import StatusState
from desk.domain.textsearch import SearchQuery, words
from desk.storage.models import SearchDocument, Status, ThreadEntry, Ticket, User

# Matches ranked in full at most, and taken newest first from the index at most (see the module docstring).
# At a million tickets, ranking 20,000 matches takes ~60 ms in FTS5, 400 ~50 ms with ts_rank; fetching 3,000
# matches from the GIN index and their tickets ~60 ms. MariaDB never probes (MATCH cannot stop early).
RANK_ALL_MAX: dict[str, int] = {"sqlite": 20_000, "postgresql": 400}
NEWEST_MAX: dict[str, int] = {"sqlite": 20_000, "postgresql": 3_000}
# Newest documents sampled first, by a substring test: terms matching this share of them go straight to the walk
# (no index read), and on PostgreSQL and MariaDB a term matching ROW_TEST_FREQUENT is tested on the rows that the
# other terms find in the index. MariaDB samples more because its MATCH cannot stop early and costs ~60 us a match.
SAMPLE: dict[str, int] = {"sqlite": 500, "postgresql": 500, "mysql": 2000, "mariadb": 2000}
SAMPLE_FREQUENT: dict[str, float] = {"sqlite": 0.02, "postgresql": 0.02, "mysql": 0.005, "mariadb": 0.005}
ROW_TEST_FREQUENT = 0.05
FIRST_WINDOW = 200  # fewest tickets checked by the first round of the walk
WALK_MAX = 128_000  # tickets walked before the walk gives up (an actor who sees few of the matches)

# PostgreSQL rejects a tsvector whose distinct words take 1 MiB or more, which would fail the transaction that
# saves the entry; a document of fewer bytes cannot reach that.
MAX_DOCUMENT_BYTES = 1_000_000

_WORD = re.compile(r"[^\W_]+")
_fts = table("ticket_fts", column("rowid", Integer), column("rank", Float))
_FTS_MATCH = literal_column("ticket_fts").op("MATCH")


def document_text(number: str, subject: str, requester_name: str, requester_email: str, bodies: Iterable[str]) -> str:
    """The normalised content stored in search_documents.content: the words of every part, space-separated."""
    content = " ".join(w for part in (number, subject, requester_name, requester_email, *bodies) for w in words(part))
    encoded = content.encode()
    if len(encoded) <= MAX_DOCUMENT_BYTES:
        return content
    # Keep the whole words that fit (one byte more, to see whether the last one ends there).
    return encoded[: MAX_DOCUMENT_BYTES + 1].decode(errors="ignore").rsplit(" ", 1)[0]


def add_document(
    session: Session, ticket_id: int, number: str, subject: str, requester_name: str, requester_email: str, body: str
) -> None:
    """The document of a ticket opened in this transaction, from its first message: no other writer can have added
    to a ticket not yet committed, so there is nothing to lock or read back (`refresh_document` would build the same).
    """
    content = document_text(number, subject, requester_name, requester_email, [body])
    session.add(SearchDocument(ticket_id=ticket_id, content=content))


def refresh_document(session: Session, ticket_id: int) -> None:
    """Rebuild one ticket's SearchDocument from its number, subject, requester and thread; insert or update.

    Called by the services in the transaction that changed the ticket, so a new entry or subject is found by the
    first search after the commit (InnoDB updates a FULLTEXT index only on commit, so not before it).
    """
    # The row lock makes a concurrent writer's entries visible to the read below (READ COMMITTED takes a new
    # snapshot per statement) instead of losing them to a document built from an older snapshot.
    number, subject, name, email = session.execute(
        select(Ticket.number, Ticket.subject, User.name, User.email)
        .join(User, User.id == Ticket.requester_id)
        .where(Ticket.id == ticket_id)
        .with_for_update(of=Ticket)
    ).one()
    bodies = session.scalars(
        select(ThreadEntry.body_text)
        .where(ThreadEntry.ticket_id == ticket_id)
        .order_by(ThreadEntry.created_at, ThreadEntry.id)
    )
    content = document_text(number, subject, name, email, bodies)
    document = session.get(SearchDocument, ticket_id)
    if document is None:
        session.add(SearchDocument(ticket_id=ticket_id, content=content))
    elif document.content != content:
        document.content = content
    session.flush()


def search_ticket_ids(
    session: Session, query: SearchQuery, visible: ColumnElement[bool] | None, limit: int = 50
) -> list[int]:
    """Ticket ids matching all terms (the last as a prefix), best first, at most `limit`.

    `visible` is a condition on Ticket restricting the result to what the actor may see (None: everything);
    it applies before the limit. An empty query finds nothing.
    """
    terms = _terms(query)
    if not terms or limit <= 0:
        return []
    dialect = _dialect(session)
    plan = _plan(session, dialect, terms)
    if plan.kind != "recent":
        return _indexed_ids(session, dialect, terms, plan, visible, limit)
    found = _recent_ticket_ids(session, terms, visible, limit, plan.sample_share)
    if found is None:  # the walk went too far: the actor sees too few of the matching tickets
        return _indexed_ids(session, dialect, terms, _Plan("newest", plan.on_row), visible, limit)
    return found


def plan_for(session: Session, query: SearchQuery) -> str:
    """The plan `search_ticket_ids` takes: 'ranked', 'newest' (matches from the index) or 'recent' (the walk)."""
    terms = _terms(query)
    if not terms:
        return "ranked"
    return _plan(session, _dialect(session), terms).kind


def count_matches(session: Session, query: SearchQuery) -> int:
    """How many documents match (reads the whole index entry: for tests and the benchmark)."""
    terms = _terms(query)
    if not terms:
        return 0
    ids = _indexed(_dialect(session), terms).ids()
    return int(session.scalar(select(func.count()).select_from(ids.subquery())) or 0)


def ranked_ticket_ids(
    session: Session, query: SearchQuery, visible: ColumnElement[bool] | None, limit: int = 50
) -> list[int]:
    """Rank every match, whatever their number: the naive plan, kept for comparison in the benchmark."""
    terms = _terms(query)
    if not terms or limit <= 0:
        return []
    return _indexed_ids(session, _dialect(session), terms, _Plan("ranked"), visible, limit)


# --- choosing the plan --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    kind: str  # "ranked", "newest" or "recent"
    on_row: tuple[str, ...] = ()  # terms tested on each row instead of looked up in the index
    sample_share: float = 0.0  # of the newest documents that match


def _plan(session: Session, dialect: str, terms: Sequence[str]) -> _Plan:
    sample = SAMPLE[dialect]
    all_hits, hits = _sample(session, dialect, terms, sample)
    if all_hits >= SAMPLE_FREQUENT[dialect] * sample:
        return _Plan("recent", sample_share=all_hits / sample)
    on_row: list[str] = []
    if dialect != "sqlite" and len(terms) > 1:
        # GIN and InnoDB read the whole posting list of each word they are given (and of every word with the
        # prefix) before they intersect; a frequent word's list is most of the table, so such words are tested
        # on the rows that the rarer words find. The rarest word always goes to the index.
        frequent = max(1.0, ROW_TEST_FREQUENT * sample)
        on_row = [term for term, count in zip(terms, hits, strict=True) if count >= frequent]
        if len(on_row) == len(terms):
            on_row.remove(min(zip(hits, terms, strict=True))[1])
    if dialect in ("mysql", "mariadb"):
        # InnoDB cannot stop a MATCH early: a probe would cost as much as the ranking, so trust the sample.
        return _Plan("ranked", tuple(on_row))
    rank_all, newest = RANK_ALL_MAX[dialect], NEWEST_MAX[dialect]
    count = _count(session, dialect, terms, on_row, max(rank_all, newest) + 1)
    kind = "ranked" if count <= rank_all else "newest" if count <= newest else "recent"
    return _Plan(kind, tuple(on_row), all_hits / sample)


def _count(session: Session, dialect: str, terms: Sequence[str], on_row: Sequence[str], bound: int) -> int:
    """Matching documents, counted up to `bound` (the index read stops there)."""
    indexed = _indexed(dialect, terms, on_row)
    # Selecting a constant lets PostgreSQL count all-visible heap pages from its bitmap without reading them.
    ids: Select[Any] = select(literal_column("1")).select_from(indexed.source).where(*indexed.conditions).limit(bound)
    return int(session.scalar(select(func.count()).select_from(ids.subquery())) or 0)


def _sample(session: Session, dialect: str, terms: Sequence[str], size: int) -> tuple[int, list[int]]:
    """How many of the `size` newest documents match all terms, and each term alone."""
    newest = select(SearchDocument.content).order_by(SearchDocument.ticket_id.desc()).limit(size).subquery()
    tests = _substring_tests(dialect, newest.c.content, terms)
    counts = [func.coalesce(func.sum(case((test, 1), else_=0)), 0) for test in [and_(*tests), *tests]]
    row = session.execute(select(*counts).select_from(newest)).one()
    return int(row[0]), [int(count) for count in row[1:]]


# --- the index plans: few matches ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Indexed:
    """Matching documents through the full-text index: from where, on what, their id and relevance (higher first)."""

    source: FromClause
    conditions: list[ColumnElement[bool]]
    ticket_id: SQLColumnExpression[int]
    score: ColumnElement[Any]

    def ids(self) -> Select[int]:
        return select(self.ticket_id).select_from(self.source).where(*self.conditions)


def _indexed(dialect: str, terms: Sequence[str], on_row: Sequence[str] = ()) -> _Indexed:
    if dialect == "sqlite":
        # bm25 is lower for better matches.
        return _Indexed(_fts, [_FTS_MATCH(_fts_query(terms))], _fts.c.rowid, -_fts.c.rank)
    document = SearchDocument.content
    looked_up = [term for term in terms if term not in on_row]
    prefix = looked_up[-1] == terms[-1]
    tests = _substring_tests(dialect, document, terms)
    conditions = [test for term, test in zip(terms, tests, strict=True) if term in on_row]
    if dialect == "postgresql":
        tsquery = _tsquery(looked_up, prefix)
        conditions.insert(0, _tsvector(document).op("@@")(tsquery))
        # Normalisation 1 divides by 1 + log(length): the same words in a shorter document weigh more.
        score: ColumnElement[Any] = func.ts_rank(_tsvector(document), tsquery, 1)
    else:
        match = document.match(_boolean_query(looked_up, prefix))
        conditions.insert(0, match)
        # InnoDB's score counts occurrences but ignores the length; divide as ts_rank does.
        score = type_coerce(match, Float) / (1 + func.ln(func.length(document)))
    return _Indexed(SearchDocument.__table__, conditions, SearchDocument.ticket_id, score)


def _indexed_ids(
    session: Session,
    dialect: str,
    terms: Sequence[str],
    plan: _Plan,
    visible: ColumnElement[bool] | None,
    limit: int,
) -> list[int]:
    """All matches from the index, the visible ones ordered by relevance ("ranked") or recency ("newest")."""
    indexed = _indexed(dialect, terms, plan.on_row)
    statement = (
        select(Ticket.id)
        .select_from(indexed.source)
        .join(Ticket, Ticket.id == indexed.ticket_id)
        .where(*indexed.conditions)
    )
    if visible is not None:
        statement = statement.where(visible)
    if plan.kind == "ranked":
        statement = statement.order_by(indexed.score.desc())
    statement = statement.order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(limit)
    return list(session.scalars(statement))


# --- the plan for many matches ------------------------------------------------------------------------------------


def _recent_ticket_ids(
    session: Session, terms: Sequence[str], visible: ColumnElement[bool] | None, limit: int, sample_share: float
) -> list[int] | None:
    """The `limit` most recently updated visible matches; None when that needs a walk past WALK_MAX tickets.

    Each round takes the next slice of tickets in (updated_at, id) DESC order, bounded on both sides so that no
    index scan runs past it, and checks them all in one statement. The first slice is sized from the sample,
    the next ones from the share of visible matches found so far, at least doubling.
    """
    states = sorted({s.value for s in StatusState} | set(session.scalars(select(Status.state).distinct())))
    dialect = _dialect(session)
    found: list[int] = []
    ceiling: tuple[datetime, int] | None = None
    window = min(max(FIRST_WINDOW, int(1.5 * limit / max(sample_share, 0.002))), 25 * FIRST_WINDOW)
    walked = 0
    while True:
        window = min(window, WALK_MAX - walked)
        floor = _nth_newest(session, states, window, ceiling)
        statement = _newest_matches(dialect, states, terms, visible, floor, ceiling, limit - len(found))
        found += session.scalars(statement)
        walked += window
        if len(found) >= limit or floor is None:
            return found
        if walked >= WALK_MAX:
            return None
        share = max(len(found), 1) / walked
        window = max(walked, int(1.25 * (limit - len(found)) / share))
        ceiling = floor


def _before(cursor: tuple[datetime, int] | None, *, inclusive: bool) -> list[ColumnElement[bool]]:
    """Tickets after `cursor` in (updated_at, id) DESC order: a plain bound on updated_at that limits the index
    range, then the exact cut on id."""
    if cursor is None:
        return []
    at, ticket_id = cursor
    if inclusive:
        return [Ticket.updated_at >= at, or_(Ticket.updated_at > at, Ticket.id >= ticket_id)]
    return [Ticket.updated_at <= at, or_(Ticket.updated_at < at, Ticket.id < ticket_id)]


def _by_state(
    states: Sequence[str], branch: Callable[[str], Select[datetime, int]], limit: int
) -> Select[datetime, int]:
    """(updated_at, id) of the newest `limit` rows over all states, newest first.

    One branch per state, so that each is an ordered scan of ix_tickets_state_updated that stops early: a single
    scan over all states would have to read and sort them all, because the state leads the index.
    """
    merged = union_all(
        *(
            branch(state).order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(limit).subquery().select()
            for state in states
        )
    ).subquery()
    return (
        select(merged.c.updated_at, merged.c.id).order_by(merged.c.updated_at.desc(), merged.c.id.desc()).limit(limit)
    )


def _nth_newest(
    session: Session, states: Sequence[str], n: int, ceiling: tuple[datetime, int] | None
) -> tuple[datetime, int] | None:
    """(updated_at, id) of the n-th most recently updated ticket below `ceiling`; None when there are fewer."""

    def branch(state: str) -> Select[datetime, int]:
        return select(Ticket.updated_at, Ticket.id).where(Ticket.state == state, *_before(ceiling, inclusive=False))

    row = session.execute(_by_state(states, branch, n).limit(1).offset(n - 1)).first()
    return None if row is None else (row.updated_at, row.id)


def _newest_matches(
    dialect: str,
    states: Sequence[str],
    terms: Sequence[str],
    visible: ColumnElement[bool] | None,
    floor: tuple[datetime, int] | None,
    ceiling: tuple[datetime, int] | None,
    limit: int,
) -> Select[int]:
    """The newest `limit` visible matches from floor (inclusive) to ceiling (exclusive), newest first."""
    conditions = _before(floor, inclusive=True) + _before(ceiling, inclusive=False)
    if visible is not None:
        conditions.append(visible)
    conditions += _substring_tests(dialect, SearchDocument.content, terms)

    def branch(state: str) -> Select[datetime, int]:
        return (
            select(Ticket.updated_at, Ticket.id)
            .join(SearchDocument, SearchDocument.ticket_id == Ticket.id)
            .where(Ticket.state == state, *conditions)
        )

    newest = _by_state(states, branch, limit).subquery()
    return select(newest.c.id).order_by(newest.c.updated_at.desc(), newest.c.id.desc())


# --- per-engine query text ----------------------------------------------------------------------------------------


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _terms(query: SearchQuery) -> list[str]:
    # parse_query already yields such words; re-checking keeps stray punctuation out of the query syntaxes.
    return [term for term in query.terms if _WORD.fullmatch(term)]


def _fts_query(terms: Sequence[str]) -> str:
    """FTS5: `"w1" "w2"*`, every word a quoted string (implicit AND), the last a prefix."""
    quoted = ['"' + term.replace('"', '""') + '"' for term in terms]
    return " ".join(quoted) + "*"


def _tsvector(document: SQLColumnExpression[str]) -> ColumnElement[str]:
    # Exactly the indexed expression, with the configuration as a literal, so that the GIN index applies.
    return func.to_tsvector(literal_column("'simple'"), document)


def _tsquery(terms: Sequence[str], prefix: bool = True) -> ColumnElement[str]:
    """`w1 & w2:*`: the words hold only letters and digits, so none can change the query's syntax."""
    text = " & ".join([*terms[:-1], terms[-1] + (":*" if prefix else "")])
    return func.to_tsquery(literal_column("'simple'"), literal(text, String))


def _boolean_query(terms: Sequence[str], prefix: bool = True) -> str:
    """InnoDB boolean mode: `+w1 +w2*`."""
    return " ".join("+" + term for term in terms) + ("*" if prefix else "")


def _substring_tests(
    dialect: str, document: SQLColumnExpression[str], terms: Sequence[str]
) -> list[ColumnElement[bool]]:
    """Word tests on the normalised text (words between single spaces), comparing bytes."""
    padded: ColumnElement[str] = literal(" ", String) + document + literal(" ", String)
    needles = [f" {term} " for term in terms[:-1]] + [f" {terms[-1]}"]
    if dialect in ("mysql", "mariadb"):
        # As bytes: LIKE under the column's collation (accent and case folding) is several times slower.
        binary = type_coerce(cast(padded, mysql.BINARY()), String)
        return [binary.like(f"%{needle}%") for needle in needles]
    position = func.instr if dialect == "sqlite" else func.strpos
    return [position(padded, needle) > 0 for needle in needles]
