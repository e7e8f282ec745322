"""The dialog that asks whether to trust a Desk server's certificate: what it shows, and that only a deliberate click
trusts (Cancel is the default; replacing a changed certificate takes a second confirmation)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QMessageBox, QWidget

from desk.client.tls import Server, Trust, Verdict, fingerprint
from desk.ui.trust import TrustDialog, grouped
from tests.client.certs import make_certificate
from tests.ui.conftest import run, until

SERVER = Server("https", "192.168.1.20", 8443)


@pytest.fixture
def pems(tmp_path: Path) -> tuple[str, str]:
    return make_certificate(tmp_path / "a", "server").pem, make_certificate(tmp_path / "b", "server").pem


def texts(dialog: QDialog) -> list[str]:
    return [child.text() for child in dialog.findChildren(QLabel) if child.text()]


def shown(dialog: TrustDialog) -> TrustDialog:
    dialog.show()
    return dialog


def asked(qtbot: QtBot, dialog: TrustDialog) -> QMessageBox:
    """Press "Replace the pinned certificate…": the confirmation it opens."""
    qtbot.mouseClick(dialog.trust_button, Qt.MouseButton.LeftButton)
    box = dialog.confirmation
    assert isinstance(box, QMessageBox) and box.isVisible()
    return box


def test_a_new_server_shows_its_address_and_fingerprint(qtbot: QtBot, pems: tuple[str, str]) -> None:
    verdict = Verdict(SERVER, Trust.NEW, pems[0], None, "self-signed certificate")
    dialog = shown(TrustDialog(None, verdict))
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Trust this server?"
    assert "First connection to https://192.168.1.20:8443." in texts(dialog)
    body = next(t for t in texts(dialog) if t.startswith("No certificate authority"))
    assert "(self-signed certificate)" in body and "the one your administrator gave you" in body
    (value,) = dialog.fingerprint_labels
    assert value.font().family() == QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()
    lines = value.text().split("\n")
    assert len(lines) == 2 and all(len(line.split()) == 2 for line in lines)  # two lines of two groups of 8 bytes
    assert ":".join(value.text().split()) == fingerprint(pems[0])
    assert value.textFormat() == Qt.TextFormat.PlainText
    assert dialog.trust_button.text() == "Trust this server"


def test_enter_and_escape_cancel_a_new_server(qtbot: QtBot, pems: tuple[str, str]) -> None:
    for key in (Qt.Key.Key_Return, Qt.Key.Key_Escape):
        dialog = shown(TrustDialog(None, Verdict(SERVER, Trust.NEW, pems[0])))
        qtbot.addWidget(dialog)
        assert dialog.cancel_button.isDefault() and not dialog.trust_button.isDefault()
        dialog.trust_button.setFocus()  # even from the trust button
        qtbot.keyClick(dialog, key)
        assert not dialog.isVisible() and dialog.result() == QDialog.DialogCode.Rejected
    dialog = shown(TrustDialog(None, Verdict(SERVER, Trust.NEW, pems[0])))
    qtbot.addWidget(dialog)
    qtbot.mouseClick(dialog.trust_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_a_changed_certificate_warns_with_both_fingerprints(qtbot: QtBot, pems: tuple[str, str]) -> None:
    old, new = pems
    dialog = shown(TrustDialog(None, Verdict(SERVER, Trust.CHANGED, new, old, "self-signed certificate")))
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Server certificate changed"
    shown_texts = texts(dialog)
    assert "The server's certificate has changed" in shown_texts
    assert "https://192.168.1.20:8443 presents another certificate than the one you trusted before." in shown_texts
    warning = next(t for t in shown_texts if t.startswith("This may be an attack"))
    assert "Or the administrator gave the server a new certificate." in warning
    assert [t for t in shown_texts if t in ("Trusted before", "Presented now")] == ["Trusted before", "Presented now"]
    assert [label.text() for label in dialog.fingerprint_labels] == [grouped(fingerprint(p)) for p in (old, new)]
    assert dialog.trust_button.text() == "Replace the pinned certificate…"
    assert dialog.cancel_button.isDefault()


def test_replacing_a_changed_certificate_needs_a_second_confirmation(qtbot: QtBot, pems: tuple[str, str]) -> None:
    dialog = shown(TrustDialog(None, Verdict(SERVER, Trust.CHANGED, pems[1], pems[0])))
    qtbot.addWidget(dialog)
    box = asked(qtbot, dialog)
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted  # not replaced by one click
    assert box.text() == "Trust the new certificate of https://192.168.1.20:8443?"
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    qtbot.keyClick(box, Qt.Key.Key_Return)  # Enter cancels the question, and the dialog stays
    assert dialog.confirmation is None and dialog.isVisible()
    assert dialog.result() != QDialog.DialogCode.Accepted
    box = asked(qtbot, dialog)
    (replace,) = [b for b in box.buttons() if b.text() == "Replace"]
    qtbot.mouseClick(replace, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible() and dialog.result() == QDialog.DialogCode.Accepted


def test_ask_answers_the_agents_choice(loop: qasync.QEventLoop, pems: tuple[str, str]) -> None:
    def showing(widget: QWidget) -> bool:
        return isinstance(widget, TrustDialog) and widget.isVisible()

    async def answer(click: str) -> bool:
        asking = asyncio.ensure_future(TrustDialog.ask(None, Verdict(SERVER, Trust.NEW, pems[0])))
        dialog = await until(lambda: next((w for w in QApplication.topLevelWidgets() if showing(w)), None))
        getattr(dialog, click).click()
        return await asking

    assert run(loop, answer("trust_button")) is True
    assert run(loop, answer("cancel_button")) is False


def test_nothing_to_ask_for_a_trusted_server(qtbot: QtBot, pems: tuple[str, str]) -> None:
    with pytest.raises(ValueError, match="nothing to ask for a trusted server"):
        TrustDialog(None, Verdict(SERVER, Trust.TRUSTED, pems[0]))
