"""Column types that behave the same on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, LargeBinary, String, Text
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.types import TypeDecorator

from desk.domain.queues import SORT_KEY_LENGTH


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out; stored naive UTC with microseconds everywhere."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class JSONText(TypeDecorator[Any]):
    """JSON kept as text, so all three engines store and compare it alike."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value, sort_keys=True, default=str)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


# TEXT on MariaDB holds only 64 KiB: thread bodies and search documents need more.
LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
# Search documents hold words folded by desk.domain.textsearch; MariaDB compares them byte for byte, as the other
# engines do, rather than folding them further by its collation (where "ǆ" equals "dz").
SearchText = Text().with_variant(mysql.MEDIUMTEXT(collation="utf8mb4_bin"), "mysql", "mariadb")
LongBlob = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
# Message-IDs compare exactly on every engine (MariaDB's default collation ignores case).
MessageIdString = String(255).with_variant(mysql.VARCHAR(255, collation="utf8mb4_bin"), "mysql", "mariadb")
# Queue sort keys (desk.domain.queues.text_sort_key) compare code point by code point on every engine.
SortKeyString = (
    String(SORT_KEY_LENGTH)
    .with_variant(postgresql.VARCHAR(SORT_KEY_LENGTH, collation="C"), "postgresql")
    .with_variant(mysql.VARCHAR(SORT_KEY_LENGTH, collation="utf8mb4_bin"), "mysql", "mariadb")
)
# End users' addresses (stored lower-cased) compare code point by code point on every engine too, so that an address
# prefix is one range of their unique index with the same rows everywhere (MariaDB's default collation would also
# match "josé" to "jose", and a PostgreSQL database's own collation need not order by code point).
AddressString = (
    String(254)
    .with_variant(postgresql.VARCHAR(254, collation="C"), "postgresql")
    .with_variant(mysql.VARCHAR(254, collation="utf8mb4_bin"), "mysql", "mariadb")
)
