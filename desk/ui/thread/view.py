"""The thread of one ticket as one rich-text document, and opening its attachments.

The whole thread is rendered into a single QTextDocument: 200 entries lay out in a few tens of milliseconds and
the agent can select and copy across entries. Each entry is a one-cell table whose background and left edge come
from its kind's theme tokens, headed by the kind's label and icon, so colour is never the only cue. System events
are one muted line.

Nothing remote is ever loaded: the services keep no image source in stored HTML but a `cid:` picture
(desk.services.richtext), which each entry points at its own stored attachment (`cid:ATTACHMENT_ID`, or no
source at all); `loadResource` serves our own `icon:` images, those pictures once the owner has fetched them
(`pictures_wanted`, `add_pictures`), and an empty image for anything else, never letting Qt read a file or an
address itself. Links open in the system browser only when clicked, and show where they go on hover; a link
whose text poses as another address (desk.domain.links) asks first, naming its real target. Attachment links
(`attachment:ID`) go to the owner through `attachment_activated`, usually to `open_attachment`: a click opens a
file whose type is safe to open (`desk.domain.attachments.may_open`) and saves any other, and the link's context
menu offers Open (disabled, saying why, for the others) and Save As.
"""

from __future__ import annotations

import asyncio
import html
import re
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import qasync
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QContextMenuEvent, QDesktopServices, QImage, QImageReader, QTextDocument
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QTextBrowser, QWidget

from desk.domain.attachments import PICTURE_MAX_PIXELS, may_open, picture_type, why_not_open
from desk.domain.enums import EntryKind, EventKind
from desk.domain.errors import DeskError
from desk.domain.links import disguised_target
from desk.domain.timespent import format_minutes
from desk.domain.views import AttachmentView, EntryView, EventView, ThreadItem, format_size
from desk.services import entries, richtext
from desk.ui import icons, labels, theme
from desk.ui.downloads import write_downloaded
from desk.ui.tasks import Context
from desk.ui.widgets import message_box, plain_tip

ICON_SCHEME = "icon"
PICTURE_SCHEME = richtext.PICTURE_SCHEME  # `cid:ATTACHMENT_ID`: a stored attachment of a shown entry
PICTURE_WIDTH = 640  # a picture shown in place is at most this wide (scaled down, never up)
ATTACHMENT_SCHEME = "attachment"
EXTERNAL_SCHEMES = frozenset({"http", "https", "mailto"})
ICON_SIZE = 16
NEWEST_ANCHOR = "newest"
SHOWN_FROM_ANCHOR = "shown-from"  # the item that was first before the earlier ones were shown
ENTRY_ANCHOR = "entry-"  # and the entry's index in the thread: where stepping through the messages scrolls to
EARLIER_SCHEME = "earlier"  # the link that shows a long thread's earlier items
# A long thread opens on its newest items, the rest behind one link: Qt lays out the whole document before it can
# scroll to the end, ~50 ms per 1,000 items on every open.
SHOWN_AT_FIRST = 60
_EVENT_INDENT = ICON_SIZE + 4  # an event's icon and the space after it

# Entry kind -> prefix of its theme tokens (`<prefix>.bg`, `<prefix>.edge`).
_KIND_TOKENS: dict[EntryKind, str] = {
    EntryKind.MESSAGE: "thread.message",
    EntryKind.REPLY: "thread.reply",
    EntryKind.NOTE: "thread.note",
}
# Icon name -> the token it is drawn in: the event icon is as muted as the event's text.
ICON_TOKENS: dict[str, str] = {
    **{icon: "icon" for _label, icon in labels.ENTRY_KINDS.values()},
    "attachment": "icon",
    "event": "thread.event.text",
    "overdue": "danger",  # the mark of an event that needs someone to act (a mail that could not be sent)
}
# Plain-text bodies get their web addresses made clickable; the match runs on the text as written (before it is
# escaped: an escape such as &gt; would otherwise end up inside the address) and stops before punctuation that
# usually ends a sentence rather than the address.
_URL = re.compile(r"\bhttps?://[^\s<>\"']*[^\s<>\"'.,;:!?)\]]")


def format_time(moment: datetime) -> str:
    """A moment in the agent's local time, as the thread shows it: "Mon 23 Nov 2026 14:05"."""
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone()
    return f"{local:%a} {local.day} {local:%b %Y %H:%M}"


class ThreadView(QTextBrowser):
    """A ticket's thread, read-only, newest entry scrolled into view.

    Signals:
        attachment_activated(int, bool): the agent asked for an attachment; carries its id and whether to save it
            (True) rather than open it.
        pictures_wanted(list): the shown entries have `cid:` pictures not yet fetched; carries their attachment
            ids, for the owner to fetch and hand to `add_pictures`.
    """

    attachment_activated = Signal(int, bool)
    pictures_wanted = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._images: dict[str, QImage] = {}
        self._images_dark: bool | None = None
        self._attachments: dict[int, AttachmentView] = {}
        self._pictures: dict[int, QImage] = {}  # attachment id -> decoded picture (an attachment never changes)
        self._asked: set[int] = set()  # pictures asked for, so a refresh does not ask again
        # Links are ours to route: attachments to the owner, web and mail links to the system, the rest nowhere.
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._on_anchor_clicked)
        self.highlighted.connect(self._on_link_hovered)
        self.confirmation: QMessageBox | None = None  # the open "this link goes elsewhere" question
        self.document().setDocumentMargin(12)
        self._items: Sequence[ThreadItem] = ()
        self.message_index: int | None = None  # the entry last stepped to (Alt+Shift+Up/Down), in the thread
        self._all_shown = False  # the agent asked for the earlier items: later refreshes keep them
        self.setObjectName("threadView")
        self.setAccessibleName(labels.tr("Ticket thread"))

    @property
    def hidden_count(self) -> int:
        """How many of the earliest items wait behind "Show earlier" (0 once shown, or in a short thread)."""
        return 0 if self._all_shown else max(0, len(self._items) - SHOWN_AT_FIRST)

    def set_thread(self, items: Sequence[ThreadItem]) -> None:
        """Show these entries and events (oldest first) and scroll to the newest; of a long thread, the newest
        SHOWN_AT_FIRST items and a link that shows the earlier ones."""
        if items[:1] != self._items[:1]:  # another ticket: stepping starts from its newest entry again
            self.message_index = None
        self._items = items
        self._show()

    def step_message(self, step: int) -> int | None:
        """Scroll to the next (1) or previous (-1) message, reply or note from the one last stepped to (from the
        newest at first), showing the earlier items when it is among them; its index in the thread, None if none."""
        entries = [index for index, item in enumerate(self._items) if isinstance(item, EntryView)]
        if not entries:
            return None
        at = entries.index(self.message_index) if self.message_index in entries else len(entries) - 1
        target = entries[min(max(at + step, 0), len(entries) - 1)]
        if target < self.hidden_count:
            self.show_earlier()
        self.message_index = target
        self.scrollToAnchor(f"{ENTRY_ANCHOR}{target}")
        return target

    def show_earlier(self) -> None:
        """Show the whole thread, keeping in view the item that was the first one shown."""
        first_shown = self.hidden_count
        self._all_shown = True
        self._show(scroll_to=first_shown)

    def _show(self, scroll_to: int | None = None) -> None:
        items, hidden = self._items, self.hidden_count
        self._ensure_images()
        self._attachments = {a.id: a for item in items if isinstance(item, EntryView) for a in item.attachments}
        self.setHtml(render(items[hidden:], hidden, anchored=scroll_to))
        # setHtml clears the document's resources; register the icons (and the pictures fetched) again so layout
        # finds them without a load.
        document = self.document()
        for name, image in self._images.items():
            document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(f"{ICON_SCHEME}:{name}"), image)
        for attachment_id, picture in self._pictures.items():
            document.addResource(QTextDocument.ResourceType.ImageResource, _picture_url(attachment_id), picture)
        wanted = [
            attachment.id
            for item in items[hidden:]
            if isinstance(item, EntryView)
            for attachment in _pictures_of(item).values()
            if attachment.id not in self._pictures and attachment.id not in self._asked
        ]
        if wanted:
            self._asked.update(wanted)
            self.pictures_wanted.emit(wanted)
        if items:
            # Scroll to the start of the newest item (QTextEdit defers this until shown if it is hidden), and again
            # once queued events are handled: the scroll bar appearing narrows the page, and the relayout that
            # follows moves the entry.
            anchor = NEWEST_ANCHOR if scroll_to is None else SHOWN_FROM_ANCHOR
            self.scrollToAnchor(anchor)
            QTimer.singleShot(0, self, lambda: self.scrollToAnchor(anchor))

    def shown_pictures(self) -> tuple[int, ...]:
        """The attachment ids of the pictures fetched and shown in place."""
        return tuple(self._pictures)

    def add_pictures(self, pictures: Sequence[tuple[int, bytes]]) -> None:
        """Show these fetched pictures (attachment id, content) where the thread refers to them. A picture Qt
        cannot decode, or too many pixels to decode, stays an empty place."""
        document = self.document()
        for attachment_id, data in pictures:
            picture = _decode(data)
            if picture is not None:
                self._pictures[attachment_id] = picture
                document.addResource(QTextDocument.ResourceType.ImageResource, _picture_url(attachment_id), picture)
        document.markContentsDirty(0, document.characterCount())

    def _ensure_images(self) -> None:
        """Render the icons in the current theme's colours, again only when the theme changed."""
        dark = theme.is_dark()
        if dark == self._images_dark:
            return
        self._images = {
            name: icons.icon(name, token).pixmap(ICON_SIZE, ICON_SIZE).toImage() for name, token in ICON_TOKENS.items()
        }
        self._images_dark = dark

    def _on_anchor_clicked(self, url: QUrl) -> None:
        scheme = url.scheme().lower()
        if scheme == EARLIER_SCHEME:
            self.show_earlier()
        elif scheme == ATTACHMENT_SCHEME:
            if (attachment := self._attachment(url)) is not None:
                self.attachment_activated.emit(attachment.id, not may_open(attachment.name))
        elif scheme in EXTERNAL_SCHEMES:
            href = url.toString()
            disguises = ((text, disguised_target(text, href)) for text in _link_texts(self.document(), url))
            disguise = next(((text, host) for text, host in disguises if host is not None), None)
            if disguise is None:
                QDesktopServices.openUrl(url)
            else:
                self._confirm_link(url, *disguise)

    def _confirm_link(self, url: QUrl, shown: str, host: str) -> None:
        """Ask before opening a link whose text (`shown`) names another address than the host it goes to."""
        box = message_box(
            QMessageBox.Icon.Warning,
            labels.tr("Open link"),
            labels.tr("This link shows “{shown}” but goes to {host}:\n\n{target}\n\nOpen {host}?").format(
                shown=" ".join(shown.split()), host=host, target=url.toDisplayString()
            ),
            self,
            QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel,
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.accepted.connect(lambda: QDesktopServices.openUrl(url))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _result: setattr(self, "confirmation", None))
        self.confirmation = box
        box.open()

    def _on_link_hovered(self, url: QUrl) -> None:
        """A web or mail link says where it really goes while the pointer is on it."""
        external = url.scheme().lower() in EXTERNAL_SCHEMES
        self.setToolTip(plain_tip(url.toDisplayString()) if external else "")

    def _attachment(self, url: QUrl) -> AttachmentView | None:
        """The attachment an `attachment:ID` link shows, None for any other link."""
        if url.scheme().lower() != ATTACHMENT_SCHEME or not url.path().isdigit():
            return None
        return self._attachments.get(int(url.path()))

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802
        """Override QTextBrowser.contextMenuEvent: an attachment link's own menu, else the usual one."""
        attachment = self._attachment(QUrl(self.anchorAt(event.pos())))
        if attachment is None:
            super().contextMenuEvent(event)
            return
        menu = self.attachment_menu(attachment)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(event.globalPos())

    def attachment_menu(self, attachment: AttachmentView) -> QMenu:
        """Open (only for types safe to hand to the system; else disabled, its tooltip saying why) and Save As."""
        menu = QMenu(self)
        menu.setToolTipsVisible(True)
        open_action = menu.addAction(labels.tr("Open"))
        open_action.setObjectName("openAttachment")
        reason = why_not_open(attachment.name)
        open_action.setEnabled(reason is None)
        open_action.setToolTip(reason or labels.tr("Open with this computer's viewer"))
        open_action.triggered.connect(lambda: self.attachment_activated.emit(attachment.id, False))
        save_action = menu.addAction(labels.tr("Save As…"))
        save_action.setObjectName("saveAttachment")
        save_action.triggered.connect(lambda: self.attachment_activated.emit(attachment.id, True))
        return menu

    def loadResource(self, type: int, name: QUrl | str) -> object:  # noqa: N802
        """Override QTextBrowser.loadResource: our icons, and an empty resource for anything else.

        Never None: Qt would then read the name as a file itself (and a null image too: it retries QImage.load)."""
        url = QUrl(name)
        if type == QTextDocument.ResourceType.ImageResource.value:
            if url.scheme() == ICON_SCHEME:
                return self._images.get(url.path(), NO_IMAGE)
            if url.scheme() == PICTURE_SCHEME and url.path().isdigit():
                return self._pictures.get(int(url.path()), NO_IMAGE)
            return NO_IMAGE
        return QByteArray()


def _transparent_pixel() -> QImage:
    image = QImage(1, 1, QImage.Format.Format_ARGB32)
    image.fill(QColor(0, 0, 0, 0))
    return image


NO_IMAGE = _transparent_pixel()


def _picture_url(attachment_id: int) -> QUrl:
    return QUrl(f"{PICTURE_SCHEME}:{attachment_id}")


def _pictures_of(entry: EntryView) -> dict[str, AttachmentView]:
    """The entry's attachments its HTML may show in place, by Content-ID."""
    return {
        attachment.content_id: attachment
        for attachment in entry.attachments
        if attachment.content_id and picture_type(attachment.name, attachment.size)
    }


def _decode(data: bytes) -> QImage | None:
    """A picture from a stranger decoded, no wider than PICTURE_WIDTH; None when it cannot be, or has more pixels
    than PICTURE_MAX_PIXELS (a few bytes can claim a huge picture)."""
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    size = reader.size()
    if not size.isValid() or size.width() * size.height() > PICTURE_MAX_PIXELS:
        return None
    if size.width() > PICTURE_WIDTH:
        reader.setScaledSize(QSize(PICTURE_WIDTH, max(1, size.height() * PICTURE_WIDTH // size.width())))
    picture = reader.read()
    return None if picture.isNull() else picture


def _link_texts(document: QTextDocument, url: QUrl) -> list[str]:
    """The visible texts of the document's links to `url` (a link's text may be split by its formatting)."""
    texts: list[str] = []
    block = document.begin()
    while block.isValid():
        run: list[str] | None = None
        fragments = block.begin()
        while not fragments.atEnd():
            fragment = fragments.fragment()
            form = fragment.charFormat()
            if form.isAnchor() and QUrl(form.anchorHref()) == url:
                run = (run or []) + [fragment.text()]
            elif run is not None:
                texts.append("".join(run))
                run = None
            fragments += 1
        if run is not None:
            texts.append("".join(run))
        block = block.next()
    return texts


def render(items: Sequence[ThreadItem], hidden: int = 0, anchored: int | None = None) -> str:
    """The thread as HTML for QTextDocument (its subset: tables for blocks, inline styles): `items`, after a link
    that shows the `hidden` earlier ones; the item at index `anchored` (of the whole thread) gets an anchor."""
    muted = theme.hex_of("text.muted")
    if not items:
        return (
            f'<p align="center" style="color: {muted}; margin-top: 24px;">'
            f"{html.escape(labels.tr('No messages yet.'))}</p>"
        )
    event_colour = theme.hex_of("thread.event.text")
    alarm_colour = theme.hex_of("danger")
    kind_colours = {kind: (theme.hex_of(f"{p}.bg"), theme.hex_of(f"{p}.edge")) for kind, p in _KIND_TOKENS.items()}
    newest = len(items) - 1
    parts = []
    if hidden:
        link = labels.tr("Show {count} earlier messages and events").format(count=f"{hidden:,}")
        parts.append(
            f'<p align="center" style="margin: 4px 0 12px 0;"><a href="{EARLIER_SCHEME}:all">{html.escape(link)}</a>'
            "</p>"
        )
    for index, item in enumerate(items):
        anchor = f'<a name="{NEWEST_ANCHOR}"></a>' if index == newest else ""
        if anchored is not None and index + hidden == anchored:
            anchor += f'<a name="{SHOWN_FROM_ANCHOR}"></a>'
        if isinstance(item, EventView):
            alarm = item.kind == EventKind.MAIL_FAILED
            parts.append(
                _event_html(item, anchor, alarm_colour if alarm else event_colour, "overdue" if alarm else "event")
            )
        else:
            anchor += f'<a name="{ENTRY_ANCHOR}{index + hidden}"></a>'
            parts.append(_entry_html(item, anchor, kind_colours[item.kind], muted, alarm_colour))
    return "".join(parts)


def _icon(name: str) -> str:
    return f'<img src="{ICON_SCHEME}:{name}" width="{ICON_SIZE}" height="{ICON_SIZE}" style="vertical-align: middle;">'


def _entry_html(entry: EntryView, anchor: str, colours: tuple[str, str], muted: str, alarm: str) -> str:
    label, icon = labels.ENTRY_KINDS[entry.kind]
    background, edge = colours
    meta = format_time(entry.created_at)
    if entry.edited_at is not None:
        meta += " · " + html.escape(labels.tr("edited")) + " " + format_time(entry.edited_at)
    if entry.minutes is not None:
        meta += " · " + html.escape(labels.tr("{time} spent").format(time=format_minutes(entry.minutes)))
    rows = [
        f'<p style="margin: 0;">{anchor}{_icon(icon)}&nbsp;<b>{html.escape(labels.tr(label))}</b>'
        f"&nbsp;&nbsp;{html.escape(entry.author)}&nbsp;&nbsp;"
        f'<span style="color: {muted};">{meta}</span></p>'
    ]
    if entry.sender_unverified:
        warning = labels.tr("Unverified sender: nothing vouches that this mail is from this address; it may be forged.")
        rows.append(f'<p style="margin: 4px 0 0 0; color: {alarm};">{_icon("overdue")}&nbsp;{html.escape(warning)}</p>')
    if entry.kind == EntryKind.REPLY:
        rows.append(f'<p style="margin: 2px 0 0 0; color: {muted};">{_recipients(entry.recipients)}</p>')
    rows.append(f'<div style="margin-top: 8px;">{_body(entry)}</div>')
    if entry.attachments:
        rows.append(f'<p style="margin: 8px 0 0 0;">{_attachments(entry.attachments, muted)}</p>')
    return (
        '<table width="100%" cellspacing="0" cellpadding="10"'
        ' style="margin-top: 6px; margin-bottom: 10px; border-collapse: collapse;">'
        f'<tr><td style="background-color: {background}; border-left: 4px solid {edge};">'
        f"{''.join(rows)}</td></tr></table>"
    )


def _recipients(recipients: Sequence[str]) -> str:
    """ "To a@x · Cc b@y" from the stored "a@x", "cc:b@y", "bcc:c@z"; a reply mailed to no one says so."""
    if not recipients:
        return html.escape(labels.tr("Not emailed"))
    groups: dict[str, list[str]] = {"To": [], "Cc": [], "Bcc": []}
    for address in recipients:
        prefix, _, rest = address.partition(":")
        if rest and prefix.lower() in ("cc", "bcc"):
            groups[prefix.capitalize()].append(rest)
        else:
            groups["To"].append(address)
    return " · ".join(
        f"{html.escape(labels.tr(name))}: {html.escape(', '.join(addresses))}"
        for name, addresses in groups.items()
        if addresses
    )


def _body(entry: EntryView) -> str:
    if entry.body_html:
        # Sanitised by the services (desk.services.richtext) when stored and when read; its pictures pointed at
        # the entry's own attachments.
        pictures = _pictures_of(entry)

        def source(content_id: str) -> str | None:
            found = pictures.get(content_id)
            return _picture_url(found.id).toString() if found else None

        return richtext.resolve_pictures(entry.body_html, source)
    return f'<span style="white-space: pre-wrap;">{_linked(entry.body_text.strip(chr(10)))}</span>'


def _linked(text: str) -> str:
    """Plain text as HTML, its web addresses as links."""
    parts, start = [], 0
    for match in _URL.finditer(text):
        address = html.escape(match.group(0))
        parts += [html.escape(text[start : match.start()]), f'<a href="{address}">{address}</a>']
        start = match.end()
    return "".join(parts) + html.escape(text[start:])


def _attachments(attachments: Sequence[AttachmentView], muted: str) -> str:
    """Each file as a link that opens it, or saves it when its type is not safe to open (then it says so)."""
    links = []
    for attachment in attachments:
        reason = why_not_open(attachment.name)
        title = reason or labels.tr("Click to open; right-click to save")
        link = (
            f'<a href="{ATTACHMENT_SCHEME}:{attachment.id}" title="{html.escape(title)}">'
            f"{html.escape(attachment.name)} ({format_size(attachment.size)})</a>"
        )
        if reason:
            link += f'&nbsp;<span style="color: {muted};">{html.escape(labels.tr("(save only)"))}</span>'
        links.append(link)
    return _icon("attachment") + "&nbsp;" + "&nbsp;&nbsp; ".join(links)


def _event_html(event: EventView, anchor: str, colour: str, icon: str) -> str:
    line = f"{html.escape(labels.describe(event))} · {format_time(event.created_at)}"
    if event.note:
        line += f"<br><i>{html.escape(event.note)}</i>"
    # A hanging indent: the icon sits in the margin, so a note or a wrapped line starts under the text.
    return (
        f'<p style="margin: 0 0 10px {14 + _EVENT_INDENT}px; text-indent: -{_EVENT_INDENT}px; color: {colour};">'
        f"{anchor}{_icon(icon)}&nbsp;{line}</p>"
    )


async def open_attachment(ctx: Context, parent: QWidget, attachment_id: int, save: bool) -> bool:
    """Fetch an attachment, then save it where the agent picks (`save`) or open it with the system's viewer.

    Only a type safe to hand to the system (`may_open`) is opened; any other is saved instead. The file is written
    with the Mark of the Web. An error (the attachment is gone, the agent may not see it, the disk is full) is
    shown in a message box on `parent`.

    Returns:
        Whether the file was written (and opened, unless saved).
    """
    try:
        attachment, data = await ctx.call(entries.attachment_content, attachment_id)
    except DeskError as error:
        _warn(parent, str(error))
        return False
    name = attachment.name  # made safe by the services: no folders, no hidden extension
    saving = save or not may_open(name)
    if saving:
        # A modal dialog from a coroutine runs on the Qt loop (STYLE rule 30), not nested inside the asyncio step.
        target, _filter = await qasync.asyncWrap(
            QFileDialog.getSaveFileName, parent, labels.tr("Save attachment"), str(Path.home() / name)
        )
        if not target:
            return False
        path = Path(target)
    else:
        # A fresh folder per file keeps the attachment's own name, which the viewer shows in its title bar.
        path = Path(tempfile.mkdtemp(prefix="desk-attachment-")) / name
    try:
        await asyncio.to_thread(write_downloaded, path, data)
    except OSError as error:
        _warn(parent, labels.tr("Could not write {path}: {reason}").format(path=path, reason=error.strerror or error))
        return False
    if not saving:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
    return True


def _warn(parent: QWidget, message: str) -> None:
    """A non-modal warning: the coroutine that failed has nothing to wait for."""
    box = message_box(QMessageBox.Icon.Warning, labels.tr("Attachment"), message, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
