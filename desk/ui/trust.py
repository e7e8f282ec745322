"""Whether to trust a Desk server's certificate: on the first connection (NEW), and when it changed (CHANGED).

desk.client.tls decides what a server's certificate means; this dialog asks the agent when only a person can
decide. For a NEW server the agent compares the fingerprint with the one the administrator gave; for a CHANGED
certificate Desk warns that it may be an attack, and replacing the pin takes a second, explicit confirmation.
Cancel is the default everywhere: Enter or Escape never trusts a server.
"""

from __future__ import annotations

from shiboken6 import isValid

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from desk.client.tls import Trust, Verdict
from desk.ui import icons
from desk.ui.widgets import label, message_box, result_of

ICON_SIZE = 40
BYTES_PER_LINE = 16  # a SHA-256 fingerprint on two lines, each in two halves of eight bytes


def grouped(fingerprint: str) -> str:
    """A colon-separated fingerprint laid out to compare by eye: two lines of two groups of eight bytes."""
    octets = fingerprint.split(":")
    lines = [octets[i : i + BYTES_PER_LINE] for i in range(0, len(octets), BYTES_PER_LINE)]
    half = BYTES_PER_LINE // 2
    return "\n".join(f"{':'.join(line[:half])}  {':'.join(line[half:])}".strip() for line in lines)


class TrustDialog(QDialog):
    """Asks whether to trust a server whose certificate is NEW, or whose certificate CHANGED since it was pinned.

    Attributes:
        verdict: what desk.client.tls found.
        trust_button: "Trust this server" (NEW: accepts) or "Replace the pinned certificate…" (CHANGED: asks again).
        cancel_button: the default button.
        confirmation: the open "Replace?" question (CHANGED), if any.
    """

    def __init__(self, parent: QWidget | None, verdict: Verdict) -> None:
        super().__init__(parent)
        if verdict.trust not in (Trust.NEW, Trust.CHANGED):
            raise ValueError(f"nothing to ask for a {verdict.trust.value} server")
        self.verdict = verdict
        self.confirmation: QMessageBox | None = None
        self.setMinimumWidth(560)
        changed = verdict.trust is Trust.CHANGED
        address = verdict.server.key
        why = f" ({verdict.untrusted_because})" if verdict.untrusted_because else ""
        if changed:
            self.setWindowTitle("Server certificate changed")
            heading = "The server's certificate has changed"
            intro = f"{address} presents another certificate than the one you trusted before."
            body = (
                "This may be an attack: someone between you and the server pretending to be it, to read what you "
                "send, your password included. Or the administrator gave the server a new certificate.\n\n"
                "Do not sign in until your administrator confirms the new fingerprint."
            )
            fingerprints = [
                ("Trusted before", verdict.pinned_fingerprint),
                ("Presented now", verdict.presented_fingerprint),
            ]
            icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
            trust_text, trust_role = "Replace the pinned certificate…", QDialogButtonBox.ButtonRole.ActionRole
        else:
            self.setWindowTitle("Trust this server?")
            heading = "Trust this Desk server?"
            intro = f"First connection to {address}."
            body = (
                f"No certificate authority trusted by this computer vouches for the server's certificate{why}. "
                "Compare its fingerprint with the one your administrator gave you (desk serve prints it when it "
                "starts), and trust the server only if they are the same."
            )
            fingerprints = [("SHA-256 fingerprint", verdict.presented_fingerprint)]
            icon = icons.icon("lock", "accent")
            trust_text, trust_role = "Trust this server", QDialogButtonBox.ButtonRole.AcceptRole

        picture = QLabel()
        picture.setPixmap(icon.pixmap(ICON_SIZE, ICON_SIZE))
        picture.setAlignment(Qt.AlignmentFlag.AlignTop)
        titles = QVBoxLayout()
        titles.setSpacing(4)
        titles.addWidget(label(heading, "heading", wrap=True))
        titles.addWidget(label(intro, wrap=True))
        top = QHBoxLayout()
        top.setSpacing(14)
        top.addWidget(picture)
        top.addLayout(titles, 1)

        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(mono.pointSizeF() + 1)  # read character by character: a little larger than the text
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addWidget(label(body, "banner" if changed else None, wrap=True))
        self.fingerprint_labels: list[QLabel] = []
        for title, value in fingerprints:
            layout.addWidget(label(title, "section"))
            shown = label(grouped(value))
            shown.setFont(mono)
            shown.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            shown.setAccessibleName(f"{title}: {value}")
            self.fingerprint_labels.append(shown)
            layout.addWidget(shown)
        if not changed:
            remember = "Desk then remembers this certificate and warns you if the server ever presents another one."
            layout.addWidget(label(remember, "muted", wrap=True))

        buttons = QDialogButtonBox()
        self.trust_button: QPushButton = buttons.addButton(trust_text, trust_role)
        self.cancel_button: QPushButton = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        for button in (self.trust_button, self.cancel_button):
            button.setAutoDefault(False)  # Enter presses Cancel even when the other button has the focus
        self.cancel_button.setDefault(True)
        if changed:
            self.trust_button.clicked.connect(self.confirm_replace)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addSpacing(4)
        layout.addWidget(buttons)
        self.cancel_button.setFocus()

    @classmethod
    async def ask(cls, parent: QWidget | None, verdict: Verdict) -> bool:
        """Whether the agent trusts the server (tests replace this classmethod to answer it)."""
        dialog = cls(parent, verdict)
        trusted = await result_of(dialog) == QDialog.DialogCode.Accepted
        if isValid(dialog):  # not deleted with its window as Desk quit
            dialog.deleteLater()
        return trusted

    def confirm_replace(self) -> QMessageBox:
        """The second question before a changed certificate replaces the pinned one; Cancel is its default."""
        box = message_box(
            QMessageBox.Icon.Warning,
            "Replace the pinned certificate",
            f"Trust the new certificate of {self.verdict.server.key}?",
            self,
            QMessageBox.StandardButton.Cancel,
            informative=(
                "Only if your administrator confirmed that the server's new certificate has the fingerprint shown "
                "under “Presented now”. Desk then accepts only the new certificate from this server."
            ),
        )
        replace = box.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        replace.clicked.connect(self.accept)
        box.finished.connect(box.deleteLater)
        box.finished.connect(lambda _result: setattr(self, "confirmation", None))
        self.confirmation = box
        box.open()
        return box
