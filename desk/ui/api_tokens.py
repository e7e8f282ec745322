"""File → API tokens: the signed-in agent's tokens for Desk's JSON API, making one (its secret shown once), revoking.

Integrations call /api/v1 with `Authorization: Bearer <secret>` and act with the agent's permissions. Desk keeps
only a token's hash and first characters, so the secret is shown here once, right after it is made, and is gone
when the dialog closes. Administrators handle other agents' tokens with `desk token` on the server.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime

from shiboken6 import isValid

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desk.domain.errors import DeskError
from desk.services import api_tokens
from desk.services.api_tokens import ApiTokenView
from desk.ui import icons, theme
from desk.ui.labels import when
from desk.ui.tasks import Context, async_slot
from desk.ui.widgets import label, message_box, plain_tip

PURPOSE = "Integrations use API tokens to call Desk's JSON API at /api/v1 with your permissions."
EMPTY = (
    "You have no API tokens yet.\n\n"
    "Make one for each integration with “New token…”, and revoke it when the integration is retired "
    "or the token may have leaked."
)
LOADING = "Loading your API tokens…"
COLUMNS = ("Name", "Token", "Created", "Last used", "State")
NAME_LENGTH = 120  # the service's limit
COPIED_MS = 2000
COLUMN_GAP = 18  # px beside a fitted column's widest text


class NewTokenDialog(QDialog):
    """Asks for the new token's name: what will use it, so that the agent can tell their tokens apart.

    Signals:
        named: the name typed (str), when the agent presses Create.
    """

    named = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New API token")
        self.setMinimumWidth(420)
        self.name = QLineEdit(placeholderText="e.g. CRM sync, nightly export")
        self.name.setMaxLength(NAME_LENGTH)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create_button = self.buttons.addButton("Create", QDialogButtonBox.ButtonRole.AcceptRole)
        self.create_button.setProperty("role", "primary")
        self.create_button.setEnabled(False)
        self.name.textChanged.connect(lambda text: self.create_button.setEnabled(bool(text.strip())))
        self.buttons.accepted.connect(self._create)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label("Name the token after what will use it:", wrap=True))
        layout.addWidget(self.name)
        layout.addSpacing(6)
        layout.addWidget(self.buttons)

    def _create(self) -> None:
        if self.name.text().strip():
            self.named.emit(self.name.text().strip())
            self.accept()


class ApiTokensDialog(QDialog):
    """The signed-in agent's API tokens: name, first characters, created, last used, active or revoked.

    Attributes:
        tokens: the tokens shown, in the table's order.
        table: one row per token.
        secret: the just-made token's secret (read-only; empty when none was made in this dialog).
        confirmation: the open "Revoke?" question, if any.

    Signals:
        loaded: the list arrived and is shown.
    """

    loaded = Signal()

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.tokens: list[ApiTokenView] = []
        self.confirmation: QMessageBox | None = None
        self.setWindowTitle("API tokens")
        self.setWindowIcon(icons.icon("key"))
        self.resize(760, 480)
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        intro = label(PURPOSE, "muted", wrap=True)

        # The new token's secret: shown once, in a panel above the list.
        self.secret_panel = QFrame()
        self.secret_panel.setProperty("role", "panel")
        self.secret_warning = label("", "banner", wrap=True)
        self.secret = QLineEdit(readOnly=True)
        self.secret.setFont(self._mono)
        self.secret.setAccessibleName("New token's secret")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setIcon(icons.icon("copy"))
        self.copy_button.clicked.connect(self.copy_secret)
        self._copied = QTimer(self, singleShot=True, interval=COPIED_MS)
        self._copied.timeout.connect(lambda: self.copy_button.setText("Copy"))
        secret_row = QHBoxLayout()
        secret_row.addWidget(self.secret, 1)
        secret_row.addWidget(self.copy_button)
        self.usage = label("", "muted", wrap=True, rich=True)  # composed below, the token's hint escaped
        panel_layout = QVBoxLayout(self.secret_panel)
        panel_layout.setContentsMargins(12, 10, 12, 10)
        panel_layout.setSpacing(8)
        panel_layout.addWidget(self.secret_warning)
        panel_layout.addLayout(secret_row)
        panel_layout.addWidget(self.usage)
        self.secret_panel.hide()

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.empty = label(LOADING, "empty", wrap=True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setContentsMargins(40, 0, 40, 0)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.table)
        self.pages.addWidget(self.empty)
        self.pages.setCurrentWidget(self.empty)

        self.message = label("", "error", wrap=True)
        self.message.hide()
        self.new_button = QPushButton("New token…")
        self.new_button.setIcon(icons.icon("new"))
        self.new_button.clicked.connect(self.ask_name)
        self.revoke_button = QPushButton("Revoke…")
        self.revoke_button.setEnabled(False)
        self.revoke_button.clicked.connect(self.ask_revoke)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.new_button)
        row.addWidget(self.revoke_button)
        row.addStretch(1)
        row.addWidget(buttons)

        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addWidget(intro)
        layout.addWidget(self.secret_panel)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.message)
        layout.addLayout(row)

    # --- loading ----------------------------------------------------------------------------------------------

    @async_slot
    async def refresh(self) -> None:
        await self.load()

    async def load(self, select: int | None = None) -> None:
        """Ask for the agent's tokens and show them, selecting the token `select` (else the one selected before)."""
        select = select if select is not None else self.selected_id()
        try:
            tokens = await self._ctx.call(api_tokens.list_tokens)
        except DeskError as error:
            if isValid(self):
                self._say(str(error))
                if self.empty.text() == LOADING:
                    self.empty.setText("Your API tokens could not be loaded.")
            return
        if not isValid(self):  # closed while the list was on its way
            return
        self._show(tokens, select)
        self.loaded.emit()

    def _show(self, tokens: Sequence[ApiTokenView], select: int | None) -> None:
        self.tokens = list(tokens)
        self.table.setRowCount(len(self.tokens))
        muted = theme.color("text.muted")
        for row, token in enumerate(self.tokens):
            state = "Active" if token.revoked_at is None else "Revoked"
            cells = (token.name, f"{token.hint}…", when(token.created_at), when(token.last_used_at) or "Never", state)
            tips = (
                token.name,
                "The token's first characters, to tell it apart: Desk does not keep the rest.",
                _full(token.created_at),
                _full(token.last_used_at) or "No call has used it yet.",
                f"Revoked {_full(token.revoked_at)}: calls with it are refused."
                if token.revoked_at
                else "Calls with it act with your permissions.",
            )
            for column, (text, tip) in enumerate(zip(cells, tips, strict=True)):
                item = QTableWidgetItem(text)
                item.setToolTip(plain_tip(tip))
                item.setData(Qt.ItemDataRole.UserRole, token.id)
                if column == 1:
                    item.setFont(self._mono)
                if token.revoked_at is not None:
                    item.setForeground(muted)
                elif column == 4:
                    item.setForeground(theme.color("success"))
                self.table.setItem(row, column, item)
        for column in range(1, len(COLUMNS)):  # fitted to their contents, with room between the columns
            self.table.resizeColumnToContents(column)
            self.table.setColumnWidth(column, self.table.columnWidth(column) + COLUMN_GAP)
        self.pages.setCurrentWidget(self.table if self.tokens else self.empty)
        self.empty.setText(EMPTY)
        rows = [r for r, t in enumerate(self.tokens) if t.id == select]
        if rows:
            self.table.selectRow(rows[0])
        else:
            self.table.clearSelection()
        self._selection_changed()

    # --- making a token ---------------------------------------------------------------------------------------

    def ask_name(self) -> NewTokenDialog:
        """Ask what the token is for; creating follows when the agent presses Create."""
        dialog = NewTokenDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.named.connect(self.make_token)
        dialog.open()
        return dialog

    @async_slot
    async def make_token(self, name: str) -> None:
        self._say("")
        self.new_button.setEnabled(False)
        try:
            new = await self._ctx.call(api_tokens.create_token, name=name)
        except DeskError as error:
            if isValid(self):
                self._say(str(error))
            return
        finally:
            if isValid(self):
                self.new_button.setEnabled(True)
        if not isValid(self):
            return
        self._show_secret(new.token, new.secret)
        await self.load(select=new.token.id)

    def _show_secret(self, token: ApiTokenView, secret: str) -> None:
        self.secret_warning.setText(
            f"⚠  Copy the new token “{token.name}” now: it will not be shown again. "
            "Keep it like a password; anyone holding it acts as you."
        )
        self.secret.setText(secret)
        self.secret.setCursorPosition(0)
        self.usage.setText(
            "Integrations send the whole token with every call to /api/v1, in the header<br>"
            f"<code>Authorization: Bearer {html.escape(token.hint)}…</code>"
        )
        self.copy_button.setText("Copy")
        self.secret_panel.show()
        self.secret.setFocus()
        self.secret.selectAll()

    def copy_secret(self) -> None:
        QGuiApplication.clipboard().setText(self.secret.text())
        self.copy_button.setText("Copied")
        self._copied.start()

    # --- revoking ---------------------------------------------------------------------------------------------

    def selected_id(self) -> int | None:
        items = self.table.selectedItems()
        return int(items[0].data(Qt.ItemDataRole.UserRole)) if items else None

    def selected(self) -> ApiTokenView | None:
        token_id = self.selected_id()
        return next((t for t in self.tokens if t.id == token_id), None)

    def _selection_changed(self) -> None:
        token = self.selected()
        self.revoke_button.setEnabled(token is not None and token.revoked_at is None)

    def ask_revoke(self) -> None:
        """Ask before revoking the selected token: integrations using it stop working at once."""
        token = self.selected()
        if token is None or token.revoked_at is not None:
            return
        box = message_box(
            QMessageBox.Icon.Question,
            "Revoke API token",
            f"Revoke the token “{token.name}” ({token.hint}…)?\n\n"
            "Integrations using it are refused from now on. This cannot be undone.",
            self,
            QMessageBox.StandardButton.Cancel,
        )
        revoke = box.addButton("Revoke", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        revoke.clicked.connect(lambda: self.revoke(token.id))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _result: setattr(self, "confirmation", None))
        self.confirmation = box
        box.open()

    @async_slot
    async def revoke(self, token_id: int) -> None:
        self._say("")
        try:
            await self._ctx.call(api_tokens.revoke_token, token_id)
        except DeskError as error:
            if isValid(self):
                self._say(str(error))
            return
        if isValid(self):
            await self.load(select=token_id)

    # --- helpers ----------------------------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def done(self, result: int) -> None:
        """Forget the secret: it is shown once, in this dialog only."""
        self.secret.clear()
        self.usage.clear()
        self.secret_panel.hide()
        super().done(result)


def _full(moment: datetime | None) -> str:
    """A moment in full local time, for tooltips."""
    if moment is None:
        return ""
    return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone().strftime("%d %b %Y %H:%M").lstrip("0")
