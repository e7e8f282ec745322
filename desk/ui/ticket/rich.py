"""Rich text in the composer: the formatting bar, pictures pasted or dropped in place, and the reply's HTML and text.

The agent formats with the bar or its shortcuts (Ctrl+B, Ctrl+I, Ctrl+Shift+8 for a bulleted list, Ctrl+Shift+7
for a numbered one, Ctrl+K for a link). What is sent is written here from the document's structure, not from
Qt's `toHtml` (styles the one HTML policy, desk.services.richtext, would strip): paragraphs, lists, bold,
italic, links and `cid:` pictures, and a text version of the same structure for the mail's text part and
search. Each picture is a PNG kept by the editor under a Content-ID of its own and sent as an attachment of the
entry carrying that Content-ID, so the thread, the Support Center and the mail show it in place.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Callable, Mapping
from typing import cast

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt, QUrl
from PySide6.QtGui import (
    QFont,
    QImage,
    QImageWriter,
    QKeySequence,
    QShortcut,
    QTextBlock,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextImageFormat,
    QTextList,
    QTextListFormat,
)
from PySide6.QtWidgets import QHBoxLayout, QInputDialog, QLineEdit, QTextEdit, QToolButton, QWidget

from desk.domain.attachments import PICTURE_MAX_BYTES
from desk.domain.views import Upload, format_size
from desk.services.richtext import LINK_SCHEMES, PICTURE_SCHEME
from desk.ui import labels

PICTURE_DOMAIN = "desk"  # a pasted picture's Content-ID is "<hex>@desk"
SHOWN_WIDTH = 480  # a picture is shown at most this wide while writing (sent at its own size)
LARGEST_SIDE = 2400  # a pasted screenshot bigger than this is scaled down before it is kept
_ORDERED = frozenset(
    {
        QTextListFormat.Style.ListDecimal,
        QTextListFormat.Style.ListLowerAlpha,
        QTextListFormat.Style.ListUpperAlpha,
        QTextListFormat.Style.ListLowerRoman,
        QTextListFormat.Style.ListUpperRoman,
    }
)


def picture_png(image: QImage) -> bytes:
    """The picture as PNG bytes, scaled down first when a side is over LARGEST_SIDE."""
    if max(image.width(), image.height()) > LARGEST_SIDE:
        image = image.scaled(
            LARGEST_SIDE, LARGEST_SIDE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    QImageWriter(buffer, QByteArray(b"png")).write(image)
    return bytes(data.data())


def picture_uploads(pictures: Mapping[str, bytes], markup: str) -> list[Upload]:
    """The pictures the HTML still shows, as attachments carrying their Content-IDs."""
    return [
        Upload(f"picture-{index}.png", "image/png", data, content_id=content_id)
        for index, (content_id, data) in enumerate(pictures.items(), start=1)
        if f'src="{PICTURE_SCHEME}:{html.escape(content_id)}"' in markup
    ]


def document_html(document: QTextDocument, pictures: Mapping[str, bytes]) -> str:
    """The document as the HTML of a reply: paragraphs and lists of bold, italic, linked text and our pictures."""
    return _write(document, pictures, _html_block, _html_run)


def document_text(document: QTextDocument, pictures: Mapping[str, bytes]) -> str:
    """The same document as plain text: "• " and "1. " before list items, a link's address after its words."""
    return _write(document, pictures, _text_block, _text_run).strip("\n")


def _write(
    document: QTextDocument,
    pictures: Mapping[str, bytes],
    block_writer: Callable[[str, str | None, int, str, bool], str],
    run_writer: Callable[[str, QTextCharFormat, Mapping[str, bytes]], str],
) -> str:
    """Walk the blocks: each one's runs written by `run_writer`, the block by `block_writer`(content, list tag
    ("ul"/"ol"/None), number in its list, the previous block's list tag, whether the list goes on after it)."""
    out: list[str] = []
    previous: str | None = None
    block = document.begin()
    while block.isValid():
        content = "".join(run_writer(text, form, pictures) for text, form in _runs(block))
        tag, number = _list_of(block)
        following = _list_of(block.next())[0] if block.next().isValid() else None
        out.append(block_writer(content, tag, number, previous or "", following == tag and tag is not None))
        previous = tag
        block = block.next()
    return "".join(out)


def _runs(block: QTextBlock) -> list[tuple[str, QTextCharFormat]]:
    runs = []
    fragments = block.begin()
    while not fragments.atEnd():
        fragment = fragments.fragment()
        if fragment.isValid():
            runs.append((fragment.text(), fragment.charFormat()))
        fragments += 1
    return runs


def _list_of(block: QTextBlock) -> tuple[str | None, int]:
    text_list = _list(block.textList())
    if text_list is None:
        return None, 0
    tag = "ol" if text_list.format().style() in _ORDERED else "ul"
    return tag, text_list.itemNumber(block) + 1


def _list(found: QTextList) -> QTextList | None:
    """A block's or cursor's list: None outside lists (the bindings' types say it is always one)."""
    return cast("QTextList | None", found)


def _html_block(content: str, tag: str | None, _number: int, previous: str, more: bool) -> str:
    if tag is None:
        return f"<p>{content or '<br>'}</p>"
    opening = f"<{tag}>" if previous != tag else ""
    return f"{opening}<li>{content}</li>{'' if more else f'</{tag}>'}"


def _text_block(content: str, tag: str | None, number: int, _previous: str, _more: bool) -> str:
    if tag is None:
        return content + "\n"
    return f"{'•' if tag == 'ul' else f'{number}.'} {content}\n"


def _picture_name(form: QTextCharFormat, pictures: Mapping[str, bytes]) -> str | None:
    if not form.isImageFormat():
        return None
    name = form.toImageFormat().name().removeprefix(f"{PICTURE_SCHEME}:")
    return name if name in pictures else None


def _link(form: QTextCharFormat) -> str | None:
    href = form.anchorHref() if form.isAnchor() else ""
    scheme = QUrl(href).scheme().lower()
    return href if scheme in LINK_SCHEMES else None


def _html_run(text: str, form: QTextCharFormat, pictures: Mapping[str, bytes]) -> str:
    if form.isImageFormat():
        name = _picture_name(form, pictures)
        picture = f'<img src="{PICTURE_SCHEME}:{html.escape(name)}" alt="picture">' if name else ""
        return picture * len(text)
    written = html.escape(text).replace("\u2028", "<br>")
    if form.fontWeight() >= QFont.Weight.DemiBold:
        written = f"<b>{written}</b>"
    if form.fontItalic():
        written = f"<i>{written}</i>"
    if (href := _link(form)) is not None:
        written = f'<a href="{html.escape(href)}">{written}</a>'
    return written


def _text_run(text: str, form: QTextCharFormat, pictures: Mapping[str, bytes]) -> str:
    if form.isImageFormat():
        return "[picture]" * len(text) if _picture_name(form, pictures) else ""
    written = text.replace("\u2028", "\n")
    href = _link(form)
    return f"{written} <{href}>" if href and href.removeprefix("mailto:") != written.strip() else written


class FormatBar(QWidget):
    """Bold, italic, the two lists and a link for a rich text editor, each with its shortcut (active while the
    editor or the bar has the focus), and their checked state following the cursor."""

    def __init__(self, editor: QTextEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._editor = editor
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.bold = self._button("formatBold", "B", labels.tr("Bold"), "Ctrl+B", self._toggle_bold)
        bold_font = self.bold.font()
        bold_font.setBold(True)
        self.bold.setFont(bold_font)
        self.italic = self._button("formatItalic", "I", labels.tr("Italic"), "Ctrl+I", self._toggle_italic)
        italic_font = self.italic.font()
        italic_font.setItalic(True)
        self.italic.setFont(italic_font)
        self.bullets = self._button(
            "formatBullets", "• " + labels.tr("List"), labels.tr("Bulleted list"), "Ctrl+Shift+8",
            lambda: self._toggle_list(QTextListFormat.Style.ListDisc),
        )  # fmt: skip
        self.numbers = self._button(
            "formatNumbers", "1. " + labels.tr("List"), labels.tr("Numbered list"), "Ctrl+Shift+7",
            lambda: self._toggle_list(QTextListFormat.Style.ListDecimal),
        )  # fmt: skip
        self.link = self._button("formatLink", labels.tr("Link…"), labels.tr("Link"), "Ctrl+K", self.ask_link)
        self.link.setCheckable(False)
        for button in (self.bold, self.italic, self.bullets, self.numbers, self.link):
            layout.addWidget(button)
        layout.addStretch(1)
        editor.cursorPositionChanged.connect(self._follow_cursor)
        editor.currentCharFormatChanged.connect(self._follow_cursor)

    def _button(self, name: str, text: str, what: str, keys: str, run: Callable[[], None]) -> QToolButton:
        button = QToolButton()
        button.setObjectName(name)
        button.setText(text)
        button.setCheckable(True)
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the focus stays in the text being formatted
        button.setAccessibleName(what)
        button.setToolTip(f"{what} ({QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)})")
        button.clicked.connect(run)
        # On the editor, not the window: each open ticket has its composer, and only the one typed in formats.
        shortcut = QShortcut(QKeySequence(keys), self._editor)
        shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        shortcut.activated.connect(run)
        return button

    def _toggle_bold(self) -> None:
        form = QTextCharFormat()
        bold = self._editor.fontWeight() < QFont.Weight.DemiBold
        form.setFontWeight(QFont.Weight.Bold if bold else QFont.Weight.Normal)
        self._editor.mergeCurrentCharFormat(form)
        self._follow_cursor()

    def _toggle_italic(self) -> None:
        form = QTextCharFormat()
        form.setFontItalic(not self._editor.fontItalic())
        self._editor.mergeCurrentCharFormat(form)
        self._follow_cursor()

    def _toggle_list(self, style: QTextListFormat.Style) -> None:
        cursor = self._editor.textCursor()
        current = _list(cursor.currentList())
        cursor.beginEditBlock()
        if current is not None and current.format().style() == style:
            for index in reversed(range(current.count())):  # out of the list: plain paragraphs again
                block = current.item(index)
                if (
                    block.position() <= cursor.selectionEnd()
                    and block.position() + block.length() > cursor.selectionStart()
                ):
                    current.remove(block)
                    form = block.blockFormat()
                    form.setIndent(0)
                    QTextCursor(block).setBlockFormat(form)
        elif current is not None:
            restyled = current.format()
            restyled.setStyle(style)
            current.setFormat(restyled)
        else:
            created = QTextListFormat()
            created.setStyle(style)
            cursor.createList(created)
        cursor.endEditBlock()
        self._follow_cursor()

    def ask_link(self) -> None:
        """Ask for the address the selected words (or the word at the cursor) link to; an empty answer unlinks."""
        cursor = self._editor.textCursor()
        if not cursor.hasSelection():
            cursor.select(QTextCursor.SelectionType.WordUnderCursor)
        current = cursor.charFormat().anchorHref() if cursor.charFormat().isAnchor() else "https://"
        dialog = QInputDialog(self._editor)
        dialog.setWindowTitle(labels.tr("Link"))
        dialog.setLabelText(labels.tr("Web or mail address (https://…, mailto:…):"))
        dialog.setTextValue(current)
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.textValueSelected.connect(lambda address: self.set_link(cursor, address.strip()))
        dialog.open()

    def set_link(self, cursor: QTextCursor, address: str) -> None:
        """Link the cursor's selection (its words when none are selected: the address itself) to `address`; an
        address of another scheme than web or mail, or none, removes the link."""
        form = QTextCharFormat()
        linked = QUrl(address).scheme().lower() in LINK_SCHEMES
        form.setAnchor(linked)
        form.setAnchorHref(address if linked else "")
        form.setFontUnderline(linked)
        form.setForeground(self._editor.palette().link() if linked else self._editor.palette().text())
        if not cursor.hasSelection() and linked:
            cursor.insertText(address, form)
        else:
            cursor.mergeCharFormat(form)
        self._editor.setTextCursor(cursor)
        self._editor.setFocus(Qt.FocusReason.OtherFocusReason)

    def _follow_cursor(self) -> None:
        cursor = self._editor.textCursor()
        current = _list(cursor.currentList())
        style = current.format().style() if current is not None else None
        self.bold.setChecked(self._editor.fontWeight() >= QFont.Weight.DemiBold)
        self.italic.setChecked(self._editor.fontItalic())
        self.bullets.setChecked(style is not None and style not in _ORDERED)
        self.numbers.setChecked(style in _ORDERED)


def new_content_id() -> str:
    return f"{uuid.uuid4().hex}@{PICTURE_DOMAIN}"


def insert_picture(editor: QTextEdit, pictures: dict[str, bytes], image: QImage) -> str | None:
    """Keep the picture under a new Content-ID and show it at the cursor; a problem in words when it is too big."""
    data = picture_png(image)
    if len(data) > PICTURE_MAX_BYTES:
        return labels.tr("The picture is {size} as PNG; pictures in a reply may be at most {limit}.").format(
            size=format_size(len(data)), limit=format_size(PICTURE_MAX_BYTES)
        )
    content_id = new_content_id()
    pictures[content_id] = data
    url = QUrl(f"{PICTURE_SCHEME}:{content_id}")
    kept = QImage.fromData(data)
    editor.document().addResource(QTextDocument.ResourceType.ImageResource, url, kept)
    form = QTextImageFormat()
    form.setName(url.toString())
    if kept.width() > SHOWN_WIDTH:
        form.setWidth(SHOWN_WIDTH)
        form.setHeight(kept.height() * SHOWN_WIDTH / kept.width())
    editor.textCursor().insertImage(form)
    return None
