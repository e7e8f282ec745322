"""The agent's own canned responses (File › My canned responses…) and macros (File › My macros…): the
administration's list and editor, for what only they see and use."""

from __future__ import annotations

from shiboken6 import isValid

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDialog, QVBoxLayout, QWidget

from desk.ui.admin.editors import StaffEditor
from desk.ui.admin.people_editors import OwnCannedEditor
from desk.ui.admin.section import Section
from desk.ui.tasks import Context, async_slot


class OwnCannedDialog(QDialog):
    """A list of the agent's own responses (or, given their editor, macros) and the editor of the chosen one;
    closing asks before unsaved changes go.

    Attributes:
        section: the list and editor.
    """

    def __init__(
        self, ctx: Context, parent: QWidget | None = None, editor: StaffEditor | None = None, title: str = ""
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title or "My canned responses")
        self.resize(900, 560)
        self.section = Section(editor or OwnCannedEditor(ctx))
        layout = QVBoxLayout(self)
        layout.addWidget(self.section)

    @async_slot
    async def start(self) -> None:
        await self.section.load_list()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Override QDialog.closeEvent: ask before unsaved changes go."""
        if not self.section.is_dirty():
            super().closeEvent(event)
            return
        event.ignore()
        self._close_if_discarded()

    @async_slot
    async def _close_if_discarded(self) -> None:
        if await self.section.confirm_discard() and isValid(self):
            self.section.loaded_form = None
            self.close()

    def reject(self) -> None:
        """Override QDialog.reject: Escape closes as the close button does (asking about unsaved changes)."""
        self.close()
