"""The composer under a ticket's thread: a reply to the requester or an internal note, with files, in one send.

What the agent types is never lost: every change is written to a local draft after a short pause (and at once
when the editor loses focus), a failed send keeps the text, the files and the draft, and a conflict (someone
changed the ticket since it was loaded) keeps them too, so the agent sends again once the owner has reloaded the
ticket and called `set_ticket` with the fresh version.
"""

from __future__ import annotations

import asyncio
import html
import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from shiboken6 import isValid

import qasync
from PySide6.QtCore import QByteArray, QMimeData, QSettings, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDropEvent,
    QFocusEvent,
    QHideEvent,
    QImage,
    QKeySequence,
    QPalette,
    QShortcut,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desk.domain.attachments import PICTURES, extension, type_allowed
from desk.domain.enums import EntryKind, OutgoingMail, Recipients, StatusState
from desk.domain.errors import DeskError, Invalid, ServerUnreachable
from desk.domain.timespent import parse_minutes
from desk.domain.views import TicketView, Upload, format_size
from desk.services import canned, entries
from desk.services.richtext import PICTURE_SCHEME, resolve_pictures, sanitize_html
from desk.ui import icons, labels, theme
from desk.ui.offline import PendingAction
from desk.ui.tasks import Context, async_slot
from desk.ui.thread.view import NO_IMAGE
from desk.ui.ticket.canned_picker import CannedPicker
from desk.ui.ticket.drafts import Draft, DraftStore, read_uploads
from desk.ui.ticket.lock import ReplyLock, until_text
from desk.ui.ticket.rich import FormatBar, document_html, document_text, insert_picture, picture_uploads
from desk.ui.widgets import ChoiceBox, hands_off, label, plain_tip

log = logging.getLogger(__name__)

DRAFT_DELAY_MS = 500  # a pause in typing this long writes the draft
MODES = (EntryKind.REPLY, EntryKind.NOTE)  # button-group ids are indexes into this
# Archiving or deleting is not the follow-up of an answer; those stay in the ticket's own actions.
_STATUS_STATES = frozenset({StatusState.OPEN, StatusState.CLOSED})
_MODE_TEXT: dict[EntryKind, tuple[str, str]] = {  # send button, placeholder
    EntryKind.REPLY: ("Send reply", "Write a reply to the requester…"),
    EntryKind.NOTE: ("Add note", "Write an internal note; only agents see it…"),
}
_SIGNATURES = {"mine": "My signature", "department": "Department's signature", "none": "No signature"}
RICH_KEY = "composer/rich_text/{agent_id}"  # QSettings: whether this agent's replies start as rich text


def local_files(mime: QMimeData) -> list[Path]:
    """The local files among dropped or pasted data (a dragged web link is text, not a file)."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class _BodyEdit(QTextEdit):
    """The body editor, plain or rich (`setAcceptRichText`). Files dropped or pasted onto it are attached instead
    of pasted as their paths; in rich text a picture (pasted, or a picture file dropped) goes in place instead, and
    pasted HTML comes in under the one HTML policy.

    It never loads a resource itself: only its own pictures (`pictures`, by Content-ID) are shown.

    Signals:
        files_dropped(list): local file paths (Path) dropped or pasted.
        picture_refused(str): why a pasted or dropped picture was not put in.
        focus_lost(): the editor lost keyboard focus.
    """

    files_dropped = Signal(list)
    picture_refused = Signal(str)
    focus_lost = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.pictures: dict[str, bytes] = {}
        self.setAcceptRichText(False)

    def set_pictures(self, pictures: dict[str, bytes]) -> None:
        """Take these pictures (a restored draft's) before its HTML is set, so it finds them."""
        self.pictures = dict(pictures)
        for content_id, data in self.pictures.items():
            url = QUrl(f"{PICTURE_SCHEME}:{content_id}")
            self.document().addResource(QTextDocument.ResourceType.ImageResource, url, QImage.fromData(data))

    def _insert_picture(self, image: QImage) -> None:
        problem = insert_picture(self, self.pictures, image) if not image.isNull() else None
        if problem:
            self.picture_refused.emit(problem)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802
        """Override QTextEdit.canInsertFromMimeData: accept files too, and pictures in rich text."""
        rich_picture = self.acceptRichText() and source.hasImage()
        return bool(local_files(source)) or rich_picture or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802
        """Override QTextEdit.insertFromMimeData: files become attachments (pictures in rich text go in place),
        a picture is put in place in rich text, HTML comes in sanitised, anything else as plain text."""
        files = local_files(source)
        rich = self.acceptRichText()
        if files:
            in_place = [path for path in files if rich and extension(path.name) in PICTURES]
            for path in in_place:
                self._insert_picture(QImage(str(path)))
            if others := [path for path in files if path not in in_place]:
                self.files_dropped.emit(others)
        elif rich and source.hasImage():
            self._insert_picture(QImage(source.imageData()))
        elif rich and source.hasHtml():
            # Under the one policy, keeping only pictures of this reply (copied within it).
            own = resolve_pictures(sanitize_html(source.html()) or "", self._own_picture)
            self.textCursor().insertHtml(own)
        else:
            self.insertPlainText(source.text())

    def _own_picture(self, content_id: str) -> str | None:
        return f"{PICTURE_SCHEME}:{content_id}" if content_id in self.pictures else None

    def loadResource(self, type: int, name: QUrl | str) -> object:  # noqa: N802
        """Override QTextEdit.loadResource: our pictures, and an empty resource for anything else (pasted HTML
        naming a file or an address): never None, which would make Qt read the name as a file itself."""
        url = QUrl(name)
        if type != QTextDocument.ResourceType.ImageResource.value:
            return QByteArray()
        data = self.pictures.get(url.path()) if url.scheme() == PICTURE_SCHEME else None
        return QImage.fromData(data) if data else NO_IMAGE

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        """Override QTextEdit.focusOutEvent: tell the composer, which writes the draft."""
        super().focusOutEvent(event)
        self.focus_lost.emit()


class _AttachmentChip(QFrame):
    """One attached file: its name and size, and a button that removes it.

    Signals:
        remove_requested(object): the Path to remove.
    """

    remove_requested = Signal(object)

    def __init__(self, path: Path, size: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "panel")
        self.setObjectName("attachmentChip")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 2, 2)
        layout.setSpacing(4)
        icon = label()
        icon.setPixmap(icons.icon("attachment").pixmap(16, 16))
        layout.addWidget(icon)
        text = label(f"{path.name} ({format_size(size)})")
        text.setToolTip(plain_tip(str(path)))
        layout.addWidget(text)
        remove = QToolButton()
        remove.setText("✕")
        remove.setAutoRaise(True)
        remove.setAccessibleName(labels.tr("Remove {name}").format(name=path.name))
        remove.setToolTip(plain_tip(remove.accessibleName()))
        remove.clicked.connect(lambda: self.remove_requested.emit(path))
        layout.addWidget(remove)


class ComposerWidget(QWidget):
    """Reply or internal note for one ticket, with recipients, a status to set, files and the agent's signature.

    The owner calls `set_ticket` when the ticket is shown or reloaded, `set_mode` and `focus_editor` for the
    reply (Ctrl+R) and note (Ctrl+Shift+N) shortcuts, `open_canned` for the canned responses' (Ctrl+Shift+T; a `/`
    typed on an empty line offers them too), and `set_lock_holder` when another agent holds the ticket's lock.
    Ctrl+Enter in the composer sends.

    Signals:
        sent(object): the TicketView the service returned after a successful send.
        failed(str): the message of a refused send; it is shown in the composer too, and the text is kept.

    Attributes:
        drafts: where drafts are kept (shared with the new-ticket form).
    """

    sent = Signal(object)
    failed = Signal(str)
    settled = Signal()  # a send finished, whatever its outcome (the editor waits for it before deleting itself)

    def __init__(self, ctx: Context, drafts: DraftStore | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.drafts = drafts if drafts is not None else DraftStore()
        self._ticket_id: int | None = None
        self._version: int | None = None
        self._attachments: dict[Path, int] = {}  # path -> size, in the order attached
        self._sending = False
        self._restoring = False  # programmatic changes must not write a draft
        self._error_from_files = False  # whether the error shown is add_files' refusal
        self._pending: PendingAction | None = None  # this ticket's send kept until the server is back
        self._outgoing_mail: OutgoingMail | None = None  # what the recipients choice says about mail
        self._time_required = False  # the ticket's department refuses an entry without the time spent
        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(DRAFT_DELAY_MS)
        self._draft_timer.timeout.connect(self.save_draft)
        self._build()
        # The ticket version whose canned responses the picker holds, and the one they are being fetched for.
        self._canned_for: tuple[int, int | None] | None = None
        self._canned_asked: tuple[int, int | None] | None = None
        self._reply_lock = ReplyLock(ctx, self)
        self._reply_lock.holder_changed.connect(self.set_lock_holder)
        self.setAcceptDrops(True)
        send_shortcut = QShortcut(QKeySequence("Ctrl+Return"), self)
        send_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        send_shortcut.activated.connect(self._on_send_clicked)
        if ctx.connection is not None:
            ctx.connection.action_applied.connect(self._on_pending_applied)
            ctx.connection.action_refused.connect(self._on_pending_refused)
        self._apply_mode(EntryKind.REPLY)
        self._update_send()

    # --- public API ---------------------------------------------------------------------------------------------

    def set_ticket(self, ticket: TicketView) -> None:
        """Compose for this ticket. The same ticket again (reloaded) only takes its new version and keeps the
        input; another ticket first saves this one's draft, then restores that ticket's draft."""
        self._apply_outgoing_mail()
        self._offer_signatures(ticket.department.id)
        self._time_required = ticket.time_required
        self._time_label.setText(labels.tr("Time (required):" if ticket.time_required else "Time:"))
        if ticket.id == self._ticket_id:
            self._version = ticket.version
            self._forget_stale_canned()
            return
        self._canned.close_list()
        self.save_draft()
        self._reply_lock.set_ticket(ticket.id)  # leaving a ticket gives its lock back
        self._ticket_id, self._version = ticket.id, ticket.version
        self._forget_stale_canned()
        self._show_error("")
        self._restore(self.drafts.load(self._ctx.agent.id, ticket.id) or Draft())
        monitor = self._ctx.connection
        self._set_pending(monitor.pending_for(ticket.id) if monitor is not None else None)

    def is_sending(self) -> bool:
        return self._sending

    def ticket_id(self) -> int | None:
        return self._ticket_id

    def mode(self) -> EntryKind:
        return MODES[max(self._modes.checkedId(), 0)]

    def set_mode(self, kind: EntryKind) -> None:
        """Switch between a reply and an internal note."""
        if kind not in MODES:
            raise ValueError(f"The composer writes replies and notes, not {kind.value}")
        button = self._modes.button(MODES.index(kind))
        assert button is not None
        button.setChecked(True)  # the group's idToggled applies the mode

    def focus_editor(self) -> None:
        self._body.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def open_canned(self) -> None:
        """Offer the ticket's canned responses at the cursor, filtered by what is typed next."""
        if self._ticket_id is not None:
            self.focus_editor()
            self._canned.open()

    def set_lock_holder(self, name: str | None, until: datetime | None = None, can_take_over: bool = False) -> None:
        """Show that another agent is replying to this ticket (until when, and a take-over button when the role
        allows it), or hide the notice (None). Typing and sending stay possible: the lock is advisory."""
        if name and until is not None:
            text = labels.tr("{name} is replying to this ticket (until {time})")
            self._lock_text.setText(text.format(name=name, time=until_text(until)))
        elif name:
            self._lock_text.setText(labels.tr("{name} is replying to this ticket").format(name=name))
        self._take_over.setVisible(bool(name) and can_take_over)
        self._lock.setVisible(bool(name))

    def release_lock(self) -> None:
        """Give back the ticket's lock (the owner calls it when the ticket tab closes)."""
        self._reply_lock.release()

    def add_files(self, paths: Iterable[str | Path]) -> None:
        """Attach files; ones that are not readable files, of a type not accepted or over the size limit are refused
        with a message (the services judge them again when the reply is sent)."""
        problems = []
        types = self._ctx.choices.attachment_types
        for raw in paths:
            path = Path(raw)
            try:
                size = path.stat().st_size if path.is_file() else None
            except OSError:
                size = None
            if size is None:
                problems.append(labels.tr("“{name}” is not a file that can be attached.").format(name=path.name))
            elif not type_allowed(path.name, types):
                problems.append(
                    labels.tr("“{name}” cannot be attached: only these file types are accepted: {types}.").format(
                        name=path.name, types=", ".join(types)
                    )
                )
            elif size > self._ctx.choices.attachment_limit:
                problems.append(
                    labels.tr("“{name}” is {size}; files may be at most {limit}.").format(
                        name=path.name, size=format_size(size), limit=format_size(self._ctx.choices.attachment_limit)
                    )
                )
            elif path not in self._attachments:
                self._attachments[path] = size
        if problems or self._error_from_files:  # a refusal of earlier files is stale now; a send error is not
            self._show_error(" ".join(problems))
            self._error_from_files = bool(problems)
        self._refresh_chips()
        self._changed()

    def attachments(self) -> list[Path]:
        return list(self._attachments)

    def remove_file(self, path: Path) -> None:
        self._attachments.pop(path, None)
        self._refresh_chips()
        self._changed()

    def draft(self) -> Draft:
        """What is typed and picked now."""
        status_id = self._status.currentData()
        return Draft(
            mode=self.mode(),
            body=self._body.toPlainText(),
            recipients=Recipients(self._recipients.currentData()),
            status_id=status_id if isinstance(status_id, int) else None,
            attachments=tuple(str(path) for path in self._attachments),
            time=self._time.text(),
            html=self._body.toHtml() if self.is_rich() else "",
            pictures=dict(self._body.pictures) if self.is_rich() else {},
        )

    def is_rich(self) -> bool:
        return self._body.acceptRichText()

    def set_rich(self, rich: bool) -> None:
        """Write rich text (the formatting bar shown, pictures in place) or plain text; going plain keeps the words
        (lists as "• " and "1. " lines, links with their addresses), not the formatting nor the pictures."""
        self._rich.setChecked(rich)  # toggled applies it

    def save_draft(self) -> None:
        """Write the draft now (the debounce timer and focus-out call this); a disk error is shown, not raised."""
        self._draft_timer.stop()
        if self._ticket_id is None:
            return
        try:
            self.drafts.save(self._ctx.agent.id, self._ticket_id, self.draft())
        except OSError as error:
            log.warning("Cannot save the draft: %s", error)
            self._show_error(labels.tr("Could not save the draft: {reason}").format(reason=error.strerror or error))

    async def send(self) -> TicketView | None:
        """Post the reply or note with its files, status and (for replies) signature, as the loaded version.

        On success the input and the draft are cleared and `sent` is emitted with the updated ticket. A refusal
        (conflict, invalid input, no permission, ticket gone) or an unreadable file keeps everything, shows the
        reason and emits `failed`. Returns the updated ticket, or None if nothing was sent.
        """
        ticket_id = self._ticket_id
        if ticket_id is None or self._sending or self._pending or not self._body.toPlainText().strip():
            return None
        draft = self.draft()
        self.save_draft()  # the text is on disk before anything can go wrong
        self._show_error("")
        self._set_sending(True)
        # One key per press of Send: however often this send is tried again, it is posted once (issue 5).
        client_key = str(uuid.uuid4())
        signature = self._signatures.get(self._signature.currentData(), "") if draft.mode == EntryKind.REPLY else ""
        body, body_html, pictures = self._message(signature)
        monitor = self._ctx.connection
        try:
            minutes = self._minutes(draft.time)  # refused before anything is sent or kept for later
            if monitor is not None and not monitor.online:
                raise ServerUnreachable  # known to be away: keep it at once rather than wait for a timeout
            uploads = await asyncio.to_thread(read_uploads, list(self._attachments)) + pictures
            if draft.mode == EntryKind.REPLY:
                ticket = await self._ctx.call(
                    entries.post_reply,
                    ticket_id,
                    body,
                    body_html=body_html,
                    recipients=draft.recipients,
                    status_id=draft.status_id,
                    attachments=uploads,
                    expected_version=self._version,
                    client_key=client_key,
                    minutes=minutes,
                )
            else:
                ticket = await self._ctx.call(
                    entries.post_note,
                    ticket_id,
                    body,
                    body_html=body_html,
                    status_id=draft.status_id,
                    attachments=uploads,
                    expected_version=self._version,
                    client_key=client_key,
                    minutes=minutes,
                )
        except ServerUnreachable as error:
            if monitor is None:
                self._refuse(str(error))
                return None
            action = PendingAction(
                client_key=client_key,
                database=monitor.database,
                agent_id=self._ctx.agent.id,
                ticket_id=ticket_id,
                kind=draft.mode.value,
                body=body,
                body_html=body_html,
                recipients=draft.recipients.value,
                status_id=draft.status_id,
                attachments=draft.attachments,
                expected_version=self._version,
                minutes=minutes,
                draft=draft.to_json(),
            )
            await monitor.keep(action)
            if self._ticket_id == ticket_id:
                self._set_pending(action)
            return None
        except DeskError as error:
            self._refuse(str(error))
            if isinstance(error, Invalid) and "minutes" in error.fields:
                self._time.setFocus(Qt.FocusReason.OtherFocusReason)
            return None
        except OSError as error:
            self._refuse(
                labels.tr("Could not read “{name}”: {reason}").format(
                    name=Path(error.filename or "").name, reason=error.strerror or error
                )
            )
            return None
        finally:
            self._set_sending(False)
            self.settled.emit()
        self.drafts.delete(self._ctx.agent.id, ticket_id)
        if self._ticket_id == ticket_id:  # the agent may have moved on to another ticket while it was sent
            self._reply_lock.release()  # sent: nobody is writing here any more
            self._version = ticket.version
            self._restore(Draft(mode=draft.mode, recipients=draft.recipients))
        self.sent.emit(ticket)
        return ticket

    # --- building and state ---------------------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)

        self._lock = QFrame()
        self._lock.setObjectName("composerLock")
        self._lock.setAutoFillBackground(True)
        lock_palette = self._lock.palette()
        lock_palette.setColor(QPalette.ColorRole.Window, theme.color("changed.bg"))
        self._lock.setPalette(lock_palette)
        lock_layout = QHBoxLayout(self._lock)
        lock_layout.setContentsMargins(8, 4, 8, 4)
        lock_icon = label()
        lock_icon.setPixmap(icons.icon("lock", "warning").pixmap(16, 16))
        lock_layout.addWidget(lock_icon)
        self._lock_text = label()
        self._lock_text.setObjectName("composerLockText")
        lock_layout.addWidget(self._lock_text, 1)
        self._take_over = QPushButton(labels.tr("Take over"))
        self._take_over.setObjectName("composerTakeOver")
        self._take_over.setToolTip(labels.tr("Write the reply yourself; the other agent is told when they type"))
        self._take_over.clicked.connect(lambda: self._reply_lock.take_over())
        hands_off(self._take_over)
        lock_layout.addWidget(self._take_over)
        self._lock.hide()
        layout.addWidget(self._lock)

        top = QHBoxLayout()
        top.setSpacing(4)
        self._modes = QButtonGroup(self)
        for index, kind in enumerate(MODES):
            text, icon = labels.ENTRY_KINDS[kind]
            button = QToolButton()
            button.setObjectName(f"composer{kind.value.capitalize()}Mode")
            button.setText(labels.tr(text))
            button.setIcon(icons.icon(icon))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setCheckable(True)
            button.setProperty("mode", True)
            button.setToolTip(labels.tr("Ctrl+R") if kind == EntryKind.REPLY else labels.tr("Ctrl+Shift+N"))
            self._modes.addButton(button, index)
            top.addWidget(button)
        self._modes.button(0).setChecked(True)
        # Fusion draws a checked tool button barely darker; the mode decides who reads the text, so make it plain.
        t = theme.hex_of
        self.setStyleSheet(
            f'QToolButton[mode="true"] {{ border: 1px solid {t("border")}; border-radius: 4px;'
            f" padding: 3px 10px; background: {t('surface.alt')}; }}"
            f' QToolButton[mode="true"]:checked {{ background: {t("selection.bg")}; color: {t("selection.text")};'
            f" border-color: {t('accent')}; font-weight: 600; }}"
            f' QToolButton[mode="true"]:focus {{ border: 2px solid {t("focus")}; padding: 2px 9px; }}'
        )
        self._modes.idToggled.connect(self._on_mode_toggled)
        self._rich = QToolButton()
        self._rich.setObjectName("composerRich")
        self._rich.setText(labels.tr("Rich text"))
        self._rich.setCheckable(True)
        self._rich.setProperty("mode", True)
        self._rich.setToolTip(
            labels.tr("Bold, lists, links and pictures; off: plain text (this choice is kept for your next replies)")
        )
        self._rich.toggled.connect(self._on_rich_toggled)
        top.addSpacing(12)
        top.addWidget(self._rich)
        top.addStretch(1)
        self._recipients = ChoiceBox()
        self._recipients.setObjectName("composerRecipients")
        self._recipients.setAccessibleName(labels.tr("Recipients"))
        self._recipients.currentIndexChanged.connect(self._changed)
        self._mail_note = label(role="muted")
        self._mail_note.setObjectName("composerMailNote")
        top.addWidget(self._mail_note)
        top.addWidget(self._recipients)
        layout.addLayout(top)

        self._body = _BodyEdit()
        self._body.setObjectName("composerBody")
        self._body.setAccessibleName(labels.tr("Message"))
        self._body.setTabChangesFocus(True)  # keyboard users leave the editor with Tab
        self._body.setMinimumHeight(90)
        self._body.textChanged.connect(self._changed)
        self._body.files_dropped.connect(self.add_files)
        self._body.picture_refused.connect(self._show_error)
        self._body.focus_lost.connect(self._on_focus_lost)
        self._format = FormatBar(self._body)
        self._format.setObjectName("composerFormat")
        self._format.hide()
        layout.addWidget(self._format)
        self._canned = CannedPicker(self._body)
        self._canned.wanted.connect(self._offer_canned)
        layout.addWidget(self._body, 1)

        self._chips = QWidget()
        self._chips_layout = QHBoxLayout(self._chips)
        self._chips_layout.setContentsMargins(0, 0, 0, 0)
        self._chips_layout.setSpacing(6)
        self._chips.hide()
        layout.addWidget(self._chips)

        self._error = label(role="error", wrap=True)
        self._error.setObjectName("composerError")
        self._error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._error.hide()
        layout.addWidget(self._error)

        self._offline = label("", "banner", wrap=True)
        self._offline.setObjectName("composerOffline")
        self._offline.hide()
        layout.addWidget(self._offline)

        bottom = QHBoxLayout()
        self._attach = QToolButton()
        self._attach.setObjectName("composerAttach")
        self._attach.setText(labels.tr("Attach…"))
        self._attach.setIcon(icons.icon("attachment"))
        self._attach.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._attach.setToolTip(labels.tr("Attach files (or drop them onto the composer)"))
        self._attach.clicked.connect(self._on_attach_clicked)
        bottom.addWidget(self._attach)
        self._time_label = label(labels.tr("Time:"))
        self._time = QLineEdit()
        self._time.setObjectName("composerTime")
        self._time.setAccessibleName(labels.tr("Time spent"))
        self._time.setPlaceholderText(labels.tr("min"))
        self._time.setToolTip(labels.tr("Time spent on it: minutes (15), hours (1h, 1.5h) or both (1h 30, 1:30)"))
        self._time.setFixedWidth(self._time.fontMetrics().horizontalAdvance("1 h 45 min") + 12)
        self._time.textChanged.connect(self._changed)
        self._time_label.setBuddy(self._time)
        bottom.addWidget(self._time_label)
        bottom.addWidget(self._time)
        self._signature = QComboBox()
        self._signature.setObjectName("composerSignature")
        self._signature.setAccessibleName(labels.tr("Signature"))
        self._signature.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._signatures: dict[str, str] = {}  # what each choice adds under a reply
        bottom.addWidget(self._signature)
        bottom.addStretch(1)
        self._send = QPushButton()
        self._send.setObjectName("composerSend")
        self._send.setProperty("role", "primary")
        self._send.setToolTip(labels.tr("Ctrl+Enter"))
        self._send.clicked.connect(self._on_send_clicked)
        hands_off(self._send)  # Ctrl+Enter sends
        bottom.addWidget(self._send)
        status_label = label(labels.tr("and set status to"))
        bottom.addWidget(status_label)
        self._status = ChoiceBox()
        self._status.setObjectName("composerStatus")
        self._status.setAccessibleName(labels.tr("and set status to"))
        self._status.addItem(labels.tr("— keep status —"), None)
        for status in self._ctx.choices.statuses:
            if status.state in _STATUS_STATES:
                self._status.addItem(status.name, status.id)
        self._status.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._status.currentIndexChanged.connect(self._changed)
        status_label.setBuddy(self._status)
        bottom.addWidget(self._status)
        layout.addLayout(bottom)
        self._apply_outgoing_mail()

    def _apply_outgoing_mail(self) -> None:
        """Say truthfully whether a reply is mailed: the recipients to choose when it is, that it is not when
        no mail is set up, and where it goes when it waits for a worker or lands in the demo's mailbox."""
        state = self._ctx.choices.outgoing_mail
        if state == self._outgoing_mail:
            return
        self._outgoing_mail = state
        off = state == OutgoingMail.OFF
        choices = {Recipients.NONE: labels.MAIL_OFF} if off else labels.RECIPIENTS
        chosen = self._recipients.currentData()
        self._recipients.blockSignals(True)  # not the agent's change: no draft is written
        self._recipients.clear()
        for choice, text in choices.items():
            self._recipients.addItem(labels.tr(text), choice.value)
        self._recipients.setCurrentIndex(max(self._recipients.findData(chosen), 0))
        self._recipients.blockSignals(False)
        self._recipients.setEnabled(not off)
        self._recipients.setToolTip(labels.tr(labels.OUTGOING_MAIL[state][0]))
        self._mail_note.setText(labels.tr(labels.OUTGOING_MAIL[state][1]))
        self._apply_mode(self.mode())

    def _apply_mode(self, kind: EntryKind) -> None:
        """Everything that differs between a reply and a note, so the agent always sees which one they write."""
        reply = kind == EntryKind.REPLY
        self._recipients.setVisible(reply)
        self._mail_note.setVisible(reply and bool(self._mail_note.text()))
        self._signature.setVisible(reply and self._signature.count() > 1)
        send_text, placeholder = _MODE_TEXT[kind]
        self._send.setText(labels.tr(send_text))
        self._body.setPlaceholderText(labels.tr(placeholder))
        # The note's own background, as in the thread: a second cue besides the checked "Internal note" button.
        # A style sheet, not the palette: under the application's style sheet a widget's palette Base is ignored;
        # and once styled, the frame and its focus cue must be styled too.
        t = theme.hex_of
        self._body.setStyleSheet(
            f"QTextEdit {{ background: {t('surface.bg' if reply else 'thread.note.bg')};"
            f" border: 1px solid {t('border')}; border-radius: 4px; padding: 2px; }}"
            f" QTextEdit:focus {{ border-color: {t('accent')}; }}"
        )

    def _restore(self, draft: Draft) -> None:
        """Show a draft (or a blank one) without writing it back."""
        self._restoring = True
        try:
            self.set_mode(draft.mode)
            self._apply_rich(bool(draft.html) or self._rich_by_default())
            if draft.html:
                self._body.set_pictures(dict(draft.pictures))
                self._body.setHtml(draft.html)
            else:
                self._body.setPlainText(draft.body)
            self._recipients.setCurrentIndex(max(self._recipients.findData(draft.recipients.value), 0))
            self._status.setCurrentIndex(max(self._status.findData(draft.status_id), 0))
            self._time.setText(draft.time)
            self._attachments.clear()
        finally:
            self._restoring = False
        if draft.attachments:
            self.add_files(draft.attachments)  # files moved or grown since are refused with a message
        else:
            self._refresh_chips()
        self._draft_timer.stop()
        self._update_send()

    def _refresh_chips(self) -> None:
        while (item := self._chips_layout.takeAt(0)) is not None:
            if (widget := item.widget()) is not None:
                widget.deleteLater()
        for path, size in self._attachments.items():
            chip = _AttachmentChip(path, size)
            chip.remove_requested.connect(self.remove_file)
            self._chips_layout.addWidget(chip)
        self._chips_layout.addStretch(1)
        self._chips.setVisible(bool(self._attachments))

    def _offer_signatures(self, department_id: int) -> None:
        """The agent's own signature and the ticket's department's, whichever there are (their own first, else the
        department's, chosen), or none; a choice made stays while it is offered."""
        mine = (self._ctx.choices.signature or "").strip()
        theirs = next(
            (s.text.strip() for s in self._ctx.choices.department_signatures if s.department_id == department_id), ""
        )
        offered = {"mine": mine, "department": theirs, "none": ""}
        self._signatures = {key: text for key, text in offered.items() if text or key == "none"}
        chosen = self._signature.currentData()
        self._signature.blockSignals(True)
        self._signature.clear()
        for key, text in self._signatures.items():
            self._signature.addItem(labels.tr(_SIGNATURES[key]), key)
            self._signature.setItemData(self._signature.count() - 1, plain_tip(text), Qt.ItemDataRole.ToolTipRole)
        self._signature.setCurrentIndex(max(self._signature.findData(chosen), 0))
        self._signature.blockSignals(False)
        self._signature.setVisible(self.mode() == EntryKind.REPLY and self._signature.count() > 1)

    def _message(self, signature: str) -> tuple[str, str | None, list[Upload]]:
        """What is sent: the text, the HTML (None in plain text) and the pictures it shows, the signature under
        both unless the agent already typed it."""
        document = self._body.document()
        pictures = self._body.pictures
        text = document_text(document, pictures) if self.is_rich() else self._body.toPlainText()
        signed = bool(signature) and not text.rstrip().endswith(signature)
        if signed:
            text = f"{text.rstrip()}\n\n{signature}"
        if not self.is_rich():
            return text, None, []
        markup = document_html(document, pictures)
        if signed:
            markup += "<p>" + html.escape(signature).replace("\n", "<br>") + "</p>"
        return text, markup, picture_uploads(pictures, markup)

    def _rich_by_default(self) -> bool:
        return bool(QSettings().value(RICH_KEY.format(agent_id=self._ctx.agent.id), False, type=bool))

    def _apply_rich(self, rich: bool) -> None:
        """Rich or plain editing, without converting the text (the caller sets it)."""
        self._rich.blockSignals(True)
        self._rich.setChecked(rich)
        self._rich.blockSignals(False)
        self._body.setAcceptRichText(rich)
        self._format.setVisible(rich)
        if not rich:
            self._body.pictures = {}

    def _forget_stale_canned(self) -> None:
        """Canned responses are filled in from the ticket as it is: another ticket or version asks for them again
        (at once if the picker is open, else when it opens)."""
        if (self._ticket_id, self._version) != self._canned_for:
            self._canned_for = None
            self._canned.set_responses(None)

    def _set_sending(self, sending: bool) -> None:
        self._sending = sending
        busy = sending or self._pending is not None
        self._body.setReadOnly(busy)  # what is being sent is what gets cleared afterwards
        self._time.setReadOnly(busy)
        if busy:
            self._canned.close_list()
        self._attach.setEnabled(not busy)
        self._rich.setEnabled(not busy)
        self._format.setEnabled(not busy)
        for button in self._modes.buttons():
            button.setEnabled(not busy)
        self._update_send()

    def _set_pending(self, action: PendingAction | None) -> None:
        """Show (or stop showing) that this ticket's send waits for the server; it stays read-only meanwhile,
        so what is posted later is what the agent sees."""
        self._pending = action
        monitor = self._ctx.connection
        if monitor is not None and monitor.database_down:
            why = labels.tr("Not sent yet: the server cannot reach its database. It will be sent when it is back.")
        else:
            why = labels.tr("Not sent yet: the server is unreachable. It will be sent when the connection is back.")
        self._offline.setText(why)
        self._offline.setVisible(action is not None)
        if action is not None and self._body.toPlainText() != action.saved_draft().body:
            self._restore(action.saved_draft())  # the draft file was lost or changed: show what will be sent
        self._set_sending(self._sending)

    def _update_send(self) -> None:
        self._send.setEnabled(
            self._ticket_id is not None
            and not self._sending
            and self._pending is None
            and bool(self._body.toPlainText().strip())
        )

    def _show_error(self, message: str) -> None:
        self._error_from_files = False
        self._error.setText(message)
        self._error.setVisible(bool(message))

    def typed_minutes(self) -> int | None:
        """The time spent typed beside Attach, for a macro's reply or note; Invalid when it is not a time (a missing
        one the service refuses where the department requires it, saying so)."""
        return self._parsed(self._time.text())

    def clear_time(self) -> None:
        self._time.clear()

    def _minutes(self, typed: str) -> int | None:
        """The time spent typed beside Attach; Invalid (the text stays) when it is not a time, or when it is missing
        and the ticket's department requires it (the services check both again)."""
        minutes = self._parsed(typed)
        if minutes is None and self._time_required:
            problem = labels.tr(
                "This ticket's department asks for the time spent with each reply and note: enter it in Time."
            )
            raise Invalid(problem, {"minutes": labels.tr("Enter the minutes you spent on it.")})
        return minutes

    def _parsed(self, typed: str) -> int | None:
        try:
            return parse_minutes(typed)
        except ValueError as error:
            problem = labels.tr("The time spent {problem}.").format(problem=error)
            raise Invalid(problem, {"minutes": problem}) from error

    def _refuse(self, message: str) -> None:
        self._show_error(message)
        self.failed.emit(message)

    # --- slots ------------------------------------------------------------------------------------------------------

    def _changed(self) -> None:
        self._update_send()
        if not self._restoring and self._ticket_id is not None:
            self._draft_timer.start()  # restarts: the draft is written once typing pauses
            if self._body.toPlainText().strip():
                self._reply_lock.typing()  # the agent is writing: take or renew the ticket's lock

    def _on_rich_toggled(self, rich: bool) -> None:
        if not rich:  # the words stay, as the mail's text part would have them
            text = document_text(self._body.document(), self._body.pictures)
            self._apply_rich(False)
            self._body.setPlainText(text)
        else:
            self._apply_rich(True)
        QSettings().setValue(RICH_KEY.format(agent_id=self._ctx.agent.id), rich)
        self._changed()

    def _on_mode_toggled(self, index: int, checked: bool) -> None:
        if checked:
            self._apply_mode(MODES[index])
            self._changed()

    def _on_pending_applied(self, action: PendingAction, ticket: TicketView) -> None:
        if self._pending is None or action.client_key != self._pending.client_key:
            return
        self._set_pending(None)
        if self._ticket_id == action.ticket_id:
            self._version = ticket.version
            self._restore(Draft(mode=EntryKind(action.kind), recipients=Recipients(action.recipients)))
        self.sent.emit(ticket)

    def _on_pending_refused(self, action: PendingAction, message: str) -> None:
        if self._pending is None or action.client_key != self._pending.client_key:
            return
        self._set_pending(None)
        self._refuse(labels.tr("Not sent: {reason}").format(reason=message))

    @async_slot
    async def _offer_canned(self) -> None:
        """Fetch the ticket's canned responses for the picker, once for each version of the ticket."""
        if self._ticket_id is None:
            return
        ticket_id, key = self._ticket_id, (self._ticket_id, self._version)
        if key == self._canned_asked:
            return
        self._canned_asked = key
        try:
            responses = await self._ctx.call(canned.canned_for_ticket, ticket_id)
        except DeskError as error:
            if isValid(self) and key == (self._ticket_id, self._version):
                self._canned_asked = None  # asked again when the picker next opens
                self._canned.show_error(str(error))
            return
        if not isValid(self) or key != (self._ticket_id, self._version):
            return  # closed, or another ticket (or a newer version of this one) meanwhile
        self._canned_for, self._canned_asked = key, None
        self._canned.set_responses(responses)

    def _on_focus_lost(self) -> None:
        if self._draft_timer.isActive():
            self.save_draft()

    def _on_attach_clicked(self) -> None:
        # Non-modal, so the qasync loop keeps running while the agent browses (STYLE rule 30).
        dialog = QFileDialog(self, labels.tr("Attach files"))
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.filesSelected.connect(self.add_files)
        dialog.open()

    @qasync.asyncSlot()  # type: ignore[untyped-decorator]  # qasync has no type hints
    async def _on_send_clicked(self) -> None:
        await self.send()  # send() shows expected errors itself; anything else is a bug for sys.excepthook

    # --- Qt overrides -------------------------------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        """Override QWidget.dragEnterEvent: files may be dropped anywhere on the composer."""
        if local_files(event.mimeData()) and not self._sending:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        """Override QWidget.dropEvent: attach the dropped files."""
        files = local_files(event.mimeData())
        if files and not self._sending:
            self.add_files(files)
            event.acceptProposedAction()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802
        """Override QWidget.hideEvent: a closing tab must not take the last half second of typing with it, nor
        keep the ticket locked (another tab, another ticket, the window closed; not a minimised window)."""
        if self._draft_timer.isActive():
            self.save_draft()
        if not event.spontaneous():
            self._reply_lock.release()
        super().hideEvent(event)
