"""SVG icons by name, drawn in a theme colour at the screen's pixel ratio (crisp on high-DPI)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, QSize, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from desk.ui import theme

FOLDER = Path(__file__).parent / "icons"
SIZES = (16, 20, 24, 32)


@cache
def _svg(name: str) -> str:
    return (FOLDER / f"{name}.svg").read_text()


def _pixmap(svg: str, size: int, ratio: float) -> QPixmap:
    pixmap = QPixmap(QSize(round(size * ratio), round(size * ratio)))
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    QSvgRenderer(QByteArray(svg.encode())).render(painter, QRectF(0, 0, pixmap.width(), pixmap.height()))
    painter.end()
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


def icon(name: str, token: str = "icon") -> QIcon:
    """The named icon (a file in desk/ui/icons) in the colour of `token`."""
    screen = QGuiApplication.primaryScreen()
    return _drawn(name, theme.hex_of(token), screen.devicePixelRatio() if screen is not None else 1.0)


@cache
def _drawn(name: str, colour: str, ratio: float) -> QIcon:
    """Rendering SVGs costs ~1 ms an icon; a ticket tab shows dozens, so each is drawn once per colour."""
    svg = _svg(name).replace("currentColor", colour)
    result = QIcon()
    for size in SIZES:
        result.addPixmap(_pixmap(svg, size, ratio))
    return result
