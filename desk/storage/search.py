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
import weakref
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Executable,
    Float,
    FromClause,
    Integer,
    Result,
    Select,
    SQLColumnExpression,
    String,
    bindparam,
    cast,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Session

from desk.domain.enums import StatusState
from desk.domain.textsearch import SearchQuery, words
from desk.storage.models import SearchDocument, ThreadEntry, Ticket, User

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
# Fewest and most tickets checked by the first round of the walk: 1.5 times the limit over the sample's share of
# matches, so that a word in every document is found in one round over a few more tickets than the limit.
FIRST_WINDOW = 64
FIRST_WINDOW_MAX = 4_096
WALK_MAX = 131_072  # tickets walked before the walk gives up (an actor who sees few of the matches)

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


@dataclass(frozen=True)
class Visibility:
    """The tickets a search may return: a condition on Ticket, the values of its bound parameters, and a key that
    names the condition's shape. Statements around a condition with a key are built once and kept (building a
    walk's statements took longer than running them); without a key (an ad-hoc filter) they are built per call."""

    condition: ColumnElement[bool]
    params: Mapping[str, Any] = field(default_factory=dict)
    key: Hashable = None


def search_ticket_ids(
    session: Session, query: SearchQuery, visible: Visibility | ColumnElement[bool] | None, limit: int = 50
) -> list[int]:
    """Ticket ids matching all terms (the last as a prefix), best first, at most `limit`.

    `visible` restricts the result to what the actor may see (None: everything); it applies before the limit.
    An empty query finds nothing.
    """
    search = _Search.of(session, query, visible)
    if search is None or limit <= 0:
        return []
    plan = search.plan()
    if plan.kind != "recent":
        return search.indexed_ids(plan, limit)
    found = search.recent_ids(limit, plan.sample_share)
    if found is None:  # the walk went too far: the actor sees too few of the matching tickets
        return search.indexed_ids(_Plan("newest", plan.on_row), limit)
    return found


def plan_for(session: Session, query: SearchQuery) -> str:
    """The plan `search_ticket_ids` takes: 'ranked', 'newest' (matches from the index) or 'recent' (the walk)."""
    search = _Search.of(session, query, None)
    return "ranked" if search is None else search.plan().kind


def count_matches(session: Session, query: SearchQuery) -> int:
    """How many documents match (reads the whole index entry: for tests and the benchmark)."""
    search = _Search.of(session, query, None)
    if search is None:
        return 0
    indexed = _indexed(search.dialect, len(search.terms), ())
    ids = select(indexed.ticket_id).select_from(indexed.source).where(*indexed.conditions)
    return int(session.scalar(select(func.count()).select_from(ids.subquery()), search.params()) or 0)


def ranked_ticket_ids(
    session: Session, query: SearchQuery, visible: Visibility | ColumnElement[bool] | None, limit: int = 50
) -> list[int]:
    """Rank every match, whatever their number: the naive plan, kept for comparison in the benchmark."""
    search = _Search.of(session, query, visible)
    if search is None or limit <= 0:
        return []
    return search.indexed_ids(_Plan("ranked"), limit)


# --- one search ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    kind: str  # "ranked", "newest" or "recent"
    on_row: tuple[bool, ...] = ()  # per term: tested on each row instead of looked up in the index
    sample_share: float = 0.0  # of the newest documents that match


@dataclass(frozen=True)
class _Search:
    """A query's terms on one engine, for one visibility, and the statements that answer it.

    Every statement is built once per shape (engine, number of terms, which of them the index looks up, the
    visibility's key) and takes the terms and numbers as parameters: see `_statement`."""

    session: Session
    dialect: str
    terms: tuple[str, ...]
    visible: Visibility | None

    @classmethod
    def of(
        cls, session: Session, query: SearchQuery, visible: Visibility | ColumnElement[bool] | None
    ) -> _Search | None:
        terms = tuple(_terms(query))
        if not terms:
            return None
        if visible is not None and not isinstance(visible, Visibility):
            visible = Visibility(visible)
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            # The walk's statements bound their slice by the newest tickets' times; with those values bound,
            # PostgreSQL judged its one plan for all of them dearer than a plan for the values, and planned each
            # call anew (~2 ms a statement for 0.3 ms of work). The plan is the same for any values: an ordered
            # index scan per state. For this transaction only.
            session.execute(_GENERIC_PLANS)
        return cls(session, dialect, terms, visible)

    def params(self, on_row: Sequence[bool] = (), **numbers: int | datetime) -> dict[str, Any]:
        """The statements' parameters: the terms in each engine's syntax, the visibility's values, `numbers`."""
        terms, dialect = self.terms, self.dialect
        needles = [f" {term} " for term in terms[:-1]] + [f" {terms[-1]}"]
        if dialect in ("mysql", "mariadb"):
            needles = [f"%{needle}%" for needle in needles]  # LIKE patterns: the words hold no % or _
        params: dict[str, Any] = {f"needle_{n}": needle for n, needle in enumerate(needles)}
        looked_up = [term for term, tested in zip(terms, on_row or [False] * len(terms), strict=True) if not tested]
        prefix = looked_up[-1] == terms[-1]
        if dialect == "sqlite":
            params["fts"] = _fts_query(terms)
        elif dialect == "postgresql":
            params["tsquery"] = " & ".join([*looked_up[:-1], looked_up[-1] + (":*" if prefix else "")])
        else:
            params["boolean"] = " ".join("+" + term for term in looked_up) + ("*" if prefix else "")
        if self.visible is not None:
            params.update(self.visible.params)
        return params | numbers

    def run(self, key: tuple[Any, ...], build: Callable[[], Executable], params: dict[str, Any]) -> Result[Any]:
        # On the connection: the session's execute adds ORM handling these plain rows do not need (~0.1 ms a
        # statement); they see what the session has flushed.
        return self.session.connection().execute(_statement((self.dialect, len(self.terms), *key), build), params)

    def visible_key(self) -> Hashable:
        """The visibility's part of a statement's cache key; _UNCACHED when statements around it are not kept."""
        if self.visible is None:
            return None
        return _UNCACHED if self.visible.key is None else ("visible", self.visible.key)

    # --- choosing the plan --------------------------------------------------------------------------------------

    def plan(self) -> _Plan:
        dialect, terms = self.dialect, self.terms
        sample = SAMPLE[dialect]
        all_hits, hits = self.sample(sample)
        if all_hits >= SAMPLE_FREQUENT[dialect] * sample:
            return _Plan("recent", sample_share=all_hits / sample)
        on_row = (False,) * len(terms)
        if dialect != "sqlite" and len(terms) > 1:
            # GIN and InnoDB read the whole posting list of each word they are given (and of every word with the
            # prefix) before they intersect; a frequent word's list is most of the table, so such words are tested
            # on the rows that the rarer words find. The rarest word always goes to the index.
            frequent = max(1.0, ROW_TEST_FREQUENT * sample)
            on_row = tuple(count >= frequent for count in hits)
            if all(on_row):
                rarest = hits.index(min(hits))
                on_row = tuple(n != rarest for n in range(len(terms)))
        if dialect in ("mysql", "mariadb"):
            # InnoDB cannot stop a MATCH early: a probe would cost as much as the ranking, so trust the sample.
            return _Plan("ranked", on_row)
        rank_all, newest = RANK_ALL_MAX[dialect], NEWEST_MAX[dialect]
        count = self.count(on_row, max(rank_all, newest) + 1)
        kind = "ranked" if count <= rank_all else "newest" if count <= newest else "recent"
        return _Plan(kind, on_row, all_hits / sample)

    def sample(self, size: int) -> tuple[int, list[int]]:
        """How many of the `size` newest documents match all terms, and each term alone."""
        documents = _newest_documents(self.session.connection(), size)
        needles = [f" {term} " for term in self.terms[:-1]] + [f" {self.terms[-1]}"]
        hits = [sum(needle in document for document in documents) for needle in needles]
        if len(needles) == 1:
            return hits[0], hits
        return sum(all(needle in document for needle in needles) for document in documents), hits

    def count(self, on_row: tuple[bool, ...], bound: int) -> int:
        """Matching documents, counted up to `bound` (the index read stops there)."""

        def build() -> Executable:
            indexed = _indexed(self.dialect, len(self.terms), on_row)
            # Selecting a constant lets PostgreSQL count all-visible heap pages from its bitmap without reading them.
            ids: Select[Any] = select(literal_column("1")).select_from(indexed.source).where(*indexed.conditions)
            return select(func.count()).select_from(ids.limit(_number("bound")).subquery())

        return int(self.run(("count", on_row), build, self.params(on_row, bound=bound)).scalar_one())

    # --- the index plans: few matches ---------------------------------------------------------------------------

    def indexed_ids(self, plan: _Plan, limit: int) -> list[int]:
        """All matches from the index, the visible ones ordered by relevance ("ranked") or recency ("newest")."""
        visible = self.visible

        def build() -> Executable:
            indexed = _indexed(self.dialect, len(self.terms), plan.on_row)
            statement = (
                select(Ticket.id)
                .select_from(indexed.source)
                .join(Ticket, Ticket.id == indexed.ticket_id)
                .where(*indexed.conditions)
            )
            if visible is not None:
                statement = statement.where(visible.condition)
            if plan.kind == "ranked":
                statement = statement.order_by(indexed.score.desc())
            return statement.order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(_number("limit"))

        key = ("indexed", plan.kind, plan.on_row, self.visible_key())
        return list(self.run(key, build, self.params(plan.on_row, limit=limit)).scalars())

    # --- the plan for many matches ------------------------------------------------------------------------------

    def recent_ids(self, limit: int, sample_share: float) -> list[int] | None:
        """The `limit` most recently updated visible matches; None when that needs a walk past WALK_MAX tickets.

        Each round takes the next slice of tickets in (updated_at, id) DESC order, bounded on both sides so that no
        index scan runs past it, and checks them all in one statement. The first slice is sized from the sample,
        the next ones from the share of visible matches found so far, at least doubling.
        """
        found: list[int] = []
        ceiling: tuple[datetime, int] | None = None
        window = min(max(FIRST_WINDOW, int(1.5 * limit / max(sample_share, 0.002))), FIRST_WINDOW_MAX)
        walked = 0
        while True:
            # A power of two: the slices' statements then take few texts, each prepared and planned once by
            # PostgreSQL (planning the union of a text seen once took ~2 ms, more than running it).
            window = 1 << (min(window, WALK_MAX - walked) - 1).bit_length()
            floor = self.nth_newest(window, ceiling)
            found += self.newest_matches(floor, ceiling, limit - len(found))
            walked += window
            if len(found) >= limit or floor is None:
                return found
            if walked >= WALK_MAX:
                return None
            share = max(len(found), 1) / walked
            window = max(walked, int(1.25 * (limit - len(found)) / share))
            ceiling = floor

    def nth_newest(self, n: int, ceiling: tuple[datetime, int] | None) -> tuple[datetime, int] | None:
        """(updated_at, id) of the n-th most recently updated ticket below `ceiling`; None when there are fewer."""

        def build() -> Executable:
            def branch(state: str) -> Select[datetime, int]:
                return select(Ticket.updated_at, Ticket.id).where(Ticket.state == state, *_after("ceiling", ceiling))

            return _by_state(branch).offset(_number("offset")).limit(1)

        params = _cursor("ceiling", ceiling) | {"limit": n, "offset": n - 1}
        row = self.run(("nth", ceiling is not None), build, params).first()
        return None if row is None else (row.updated_at, row.id)

    def newest_matches(
        self, floor: tuple[datetime, int] | None, ceiling: tuple[datetime, int] | None, limit: int
    ) -> list[int]:
        """The newest `limit` visible matches from floor (inclusive) to ceiling (exclusive), newest first."""
        visible = self.visible

        def build() -> Executable:
            conditions = _after("floor", floor, inclusive=True) + _after("ceiling", ceiling)
            if visible is not None:
                conditions.append(visible.condition)
            conditions += _substring_tests(self.dialect, SearchDocument.content, len(self.terms))

            def branch(state: str) -> Select[datetime, int]:
                return (
                    select(Ticket.updated_at, Ticket.id)
                    .join(SearchDocument, SearchDocument.ticket_id == Ticket.id)
                    .where(Ticket.state == state, *conditions)
                )

            newest = _by_state(branch).subquery()
            return select(newest.c.id).order_by(newest.c.updated_at.desc(), newest.c.id.desc())

        key = ("newest", floor is not None, ceiling is not None, self.visible_key())
        params = self.params(limit=limit) | _cursor("floor", floor) | _cursor("ceiling", ceiling)
        return list(self.run(key, build, params).scalars())


# --- statements ---------------------------------------------------------------------------------------------------

_GENERIC_PLANS = text("SET LOCAL plan_cache_mode = force_generic_plan")
# Statements by shape (see `_Search`). A key holding _UNCACHED is built on each call.
_STATEMENTS: dict[tuple[Any, ...], Executable] = {}
_UNCACHED = object()
_STATES = tuple(state.value for state in StatusState)


def _statement(key: tuple[Any, ...], build: Callable[[], Executable]) -> Executable:
    if _UNCACHED in key:
        return build()
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = build()
    return statement


def _number(name: str) -> Any:
    """A number of the statement (a limit, a size), written into the SQL when it runs: PostgreSQL plans a bound
    LIMIT anew on every call (see desk.services.queues)."""
    return bindparam(name, type_=Integer, literal_execute=True)


# The newest documents of each engine, by sample size: (the newest ticket id among them, their contents with a
# space either side, newest first). Kept between searches and topped up with the documents added since, so that a
# search reads only those: reading 500-2,000 documents for every search took 0.5-2 ms on SQLite and PostgreSQL and
# 15-25 ms on MariaDB. A document edited since it was read counts as it was (the sample only estimates shares),
# except the newest: when it changed or is gone, the sample is read again.
_SAMPLES: weakref.WeakKeyDictionary[Engine, dict[int, tuple[int, list[str]]]] = weakref.WeakKeyDictionary()
_DOCUMENTS_FROM = (
    select(SearchDocument.ticket_id, SearchDocument.content)
    .where(SearchDocument.ticket_id >= bindparam("newest", type_=Integer))
    .order_by(SearchDocument.ticket_id.desc())
    .limit(_number("size"))
)


def _newest_documents(connection: Connection, size: int) -> list[str]:
    """The `size` newest documents (by ticket id) as `_SAMPLES` keeps them; reads only those added since."""
    samples = _SAMPLES.setdefault(connection.engine, {})
    newest, documents = samples.get(size, (0, []))
    rows = list(connection.execute(_DOCUMENTS_FROM, {"newest": newest, "size": size + 1}))
    if documents and rows and rows[-1][0] == newest and f" {rows[-1][1]} " == documents[0]:
        rows.pop()  # the newest document known, unchanged: the rest are new
        if not rows:
            return documents
    elif newest:
        rows = list(connection.execute(_DOCUMENTS_FROM, {"newest": 0, "size": size}))
        documents = []
    documents = [f" {content} " for _, content in rows[:size]] + documents[: max(0, size - len(rows))]
    if rows:
        samples[size] = (rows[0][0], documents)
    return documents


@dataclass(frozen=True)
class _Indexed:
    """Matching documents through the full-text index: from where, on what, their id and relevance (higher first)."""

    source: FromClause
    conditions: list[ColumnElement[bool]]
    ticket_id: SQLColumnExpression[int]
    score: ColumnElement[Any]


def _indexed(dialect: str, n: int, on_row: Sequence[bool]) -> _Indexed:
    """The index lookup of the terms not tested on rows (`on_row`), with the tests of those that are."""
    if dialect == "sqlite":
        # bm25 is lower for better matches.
        return _Indexed(_fts, [_FTS_MATCH(bindparam("fts", type_=String))], _fts.c.rowid, -_fts.c.rank)
    document = SearchDocument.content
    tests = _substring_tests(dialect, document, n)
    conditions = [test for test, tested in zip(tests, on_row or [False] * n, strict=True) if tested]
    if dialect == "postgresql":
        tsquery = func.to_tsquery(literal_column("'simple'"), bindparam("tsquery", type_=String))
        conditions.insert(0, _tsvector(document).op("@@")(tsquery))
        # Normalisation 1 divides by 1 + log(length): the same words in a shorter document weigh more.
        score: ColumnElement[Any] = func.ts_rank(_tsvector(document), tsquery, 1)
    else:
        match = document.match(bindparam("boolean", type_=String))
        conditions.insert(0, match)
        # InnoDB's score counts occurrences but ignores the length; divide as ts_rank does.
        score = type_coerce(match, Float) / (1 + func.ln(func.length(document)))
    return _Indexed(SearchDocument.__table__, conditions, SearchDocument.ticket_id, score)


def _cursor(name: str, cursor: tuple[datetime, int] | None) -> dict[str, Any]:
    return {} if cursor is None else {f"{name}_at": cursor[0], f"{name}_id": cursor[1]}


def _after(name: str, cursor: tuple[datetime, int] | None, *, inclusive: bool = False) -> list[ColumnElement[bool]]:
    """Tickets after the cursor `name` (its parameters from `_cursor`) in (updated_at, id) DESC order, none when
    there is no cursor: a plain bound on updated_at that limits the index range, then the exact cut on id."""
    if cursor is None:
        return []
    at, ticket_id = bindparam(f"{name}_at", type_=Ticket.updated_at.type), bindparam(f"{name}_id", type_=Integer)
    if inclusive:
        return [Ticket.updated_at >= at, or_(Ticket.updated_at > at, Ticket.id >= ticket_id)]
    return [Ticket.updated_at <= at, or_(Ticket.updated_at < at, Ticket.id < ticket_id)]


def _by_state(branch: Callable[[str], Select[datetime, int]]) -> Select[datetime, int]:
    """(updated_at, id) of the newest `limit` rows over all states, newest first.

    One branch per state, so that each is an ordered scan of ix_tickets_state_updated that stops early: a single
    scan over all states would have to read and sort them all, because the state leads the index.
    """
    limit = _number("limit")
    merged = union_all(
        *(
            branch(state).order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(limit).subquery().select()
            for state in _STATES
        )
    ).subquery()
    return (
        select(merged.c.updated_at, merged.c.id).order_by(merged.c.updated_at.desc(), merged.c.id.desc()).limit(limit)
    )


# --- per-engine query text ----------------------------------------------------------------------------------------


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


def _substring_tests(dialect: str, document: SQLColumnExpression[str], n: int) -> list[ColumnElement[bool]]:
    """Word tests on the normalised text (words between single spaces), comparing bytes, for the n terms whose
    needles the parameters `needle_0`... carry (see `_Search.params`)."""
    padded: ColumnElement[str] = literal(" ", String) + document + literal(" ", String)
    needles = [bindparam(f"needle_{i}", type_=String) for i in range(n)]
    if dialect in ("mysql", "mariadb"):
        # As bytes: LIKE under the column's collation (accent and case folding) is several times slower.
        binary = type_coerce(cast(padded, mysql.BINARY()), String)
        return [binary.like(needle) for needle in needles]
    position = func.instr if dialect == "sqlite" else func.strpos
    return [position(padded, needle) > 0 for needle in needles]
