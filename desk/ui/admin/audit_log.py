"""The Administration window's audit log: every administrative change, newest first, with what it changed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from shiboken6 import isValid

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desk.domain.errors import DeskError
from desk.domain.staff import AuditEntry, AuditKind, SignInEntry
from desk.services import audit
from desk.ui import icons, theme
from desk.ui.export import Cancelled, ask_path, export_table
from desk.ui.labels import when
from desk.ui.tasks import Context, async_slot
from desk.ui.widgets import label, plain_tip

COLUMNS = ("When", "Who", "Did", "What", "Changes or where from")
SIGN_INS = "sign-ins"
KINDS = (("Every change", None), *((f"{kind.value.capitalize()}s", kind) for kind in AuditKind), ("Sign-ins", SIGN_INS))
REFUSED = {
    "password": "wrong password",
    "unknown": "no such account",
    "locked": "locked",
    "inactive": "deactivated",
    "directory": "directory unreachable",
    "unmapped": "not a Desk agent",
    "mapping": "directory groups unknown",
}
SEARCH_DELAY_MS = 250


def changes_text(entry: AuditEntry) -> str:
    """The fields a change changed, "field: before → after", one per line."""
    return "\n".join(f"{field}: {before or '—'} → {after or '—'}" for field, (before, after) in entry.changes.items())


class AuditLog(QWidget):
    """The audit, filtered by kind and by text (who, or the name of what changed), a page at a time.

    Signals:
        listed: a page arrived and is shown.
        exported: an export finished, with how many entries it wrote.
    """

    listed = Signal()
    exported = Signal(int)  # how many entries the last export wrote

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self._ctx = ctx
        self.entries: list[AuditEntry | SignInEntry] = []
        self.kind = QComboBox()
        for text, kind in KINDS:
            self.kind.addItem(text, kind)
        self.kind.currentIndexChanged.connect(self.reload)
        self.search = QLineEdit(placeholderText="Search by who or what")
        self.search.setClearButtonEnabled(True)
        self.search.addAction(icons.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self._timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.reload)
        self.search.textChanged.connect(self._timer.start)
        filters = QHBoxLayout()
        filters.addWidget(self.kind)
        filters.addWidget(self.search, 1)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setShowGrid(False)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.empty = label("", "empty", wrap=True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.table)
        self.pages.addWidget(self.empty)
        self.more = QPushButton("Show older")
        self.more.clicked.connect(self.load_more)
        self.more.hide()
        self.message = label("", "error", wrap=True)
        self.message.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.message)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Everything the filter shows, every page of it, as a CSV or Excel file")
        self.export_button.clicked.connect(self.ask_export)
        row = QHBoxLayout()
        row.addWidget(self.more)
        row.addStretch(1)
        row.addWidget(self.export_button)
        layout.addLayout(row)

    @async_slot
    async def reload(self) -> None:
        await self.load_list()

    @async_slot
    async def load_more(self) -> None:
        await self.load_list(more=True)

    async def _page(self, before: int | None, kind: str | None, text: str) -> Sequence[AuditEntry | SignInEntry]:
        """A page of entries of `kind` (the filter's data) matching `text`, older than the entry `before` (None:
        the newest)."""
        if kind == SIGN_INS:
            return await self._ctx.call(audit.sign_ins, text=text, before_id=before)
        of_kind = AuditKind(kind) if kind else None  # a combo's data comes back as the enum's str
        return await self._ctx.call(audit.audit_log, kind=of_kind, text=text, before_id=before)

    async def _all_pages(self) -> AsyncIterator[list[tuple[str, ...]]]:
        """Every entry the filter shows now (changing it later does not change the export), a page of table cells
        at a time."""
        kind, text = self.kind.currentData(), self.search.text()
        before = None
        while page := await self._page(before, kind, text):
            yield [_cells(entry) for entry in page]
            if len(page) < audit.PAGE:
                return
            before = page[-1].id

    async def load_list(self, *, more: bool = False) -> None:
        before = self.entries[-1].id if more and self.entries else None
        try:
            page = await self._page(before, self.kind.currentData(), self.search.text())
        except DeskError as error:
            if isValid(self):
                self.message.setText(str(error))
                self.message.show()
            return
        if not isValid(self):
            return
        self.message.hide()
        self.entries = [*self.entries, *page] if more else list(page)
        self._show(self.entries)
        self.more.setVisible(len(page) == audit.PAGE)
        self.listed.emit()

    def _show(self, entries: Sequence[AuditEntry | SignInEntry]) -> None:
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            for column, text in enumerate(_cells(entry)):
                item = QTableWidgetItem(text)
                item.setToolTip(plain_tip(text))
                if isinstance(entry, SignInEntry) and not entry.success and column == 2:
                    item.setForeground(theme.color("danger"))
                self.table.setItem(row, column, item)
        self.table.resizeRowsToContents()
        self.empty.setText(
            "Nothing matches." if self.search.text().strip() or self.kind.currentData() else "No changes yet."
        )
        self.pages.setCurrentWidget(self.table if entries else self.empty)

    def ask_export(self) -> QFileDialog:
        name = "sign-ins.csv" if self.kind.currentData() == SIGN_INS else "audit.csv"
        return ask_path(self, "Export the audit log", name, self.export)

    @async_slot
    async def export(self, path: str) -> None:
        """Write every entry the filter shows to `path`, CSV or XLSX (desk.ui.export), with its progress."""
        self.export_button.setEnabled(False)
        try:
            written = await export_table(self, path, COLUMNS, lambda _on_total: self._all_pages(), noun="entries")
        except Cancelled:
            return
        except (DeskError, OSError) as error:
            if isValid(self):
                self.message.setText(f"The export stopped: {error}")
                self.message.show()
            return
        finally:
            if isValid(self):
                self.export_button.setEnabled(True)
        if isValid(self):
            self.exported.emit(written)


def _cells(entry: AuditEntry | SignInEntry) -> tuple[str, str, str, str, str]:
    """A change, or a sign-in attempt, in the table's columns: when, who, did, what, changes (or where from)."""
    if isinstance(entry, AuditEntry):
        return (
            when(entry.at),
            entry.actor,
            entry.action.value,
            f"{entry.kind.value} {entry.target}",
            changes_text(entry),
        )
    did = "signed in" if entry.success else f"refused: {REFUSED.get(entry.reason or '', entry.reason or '')}"
    where = f"from {entry.client_address}" if entry.client_address else "from Desk on this computer"
    return when(entry.at), entry.principal, did, "agent" if entry.kind == "agent" else "end user", where
