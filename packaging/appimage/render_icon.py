"""Render Desk's application icon (PNG) from an SVG line icon: `python render_icon.py SVG OUT.png [SIZE]`.

Run by build.py with the build venv's PySide6 (offscreen): a rounded square in Desk's accent colour with the
icon drawn on it in white, the way the agent window's own icons are drawn (QSvgRenderer, `currentColor`
replaced by the colour wanted).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ACCENT = "#2f6fdf"  # desk.ui.theme's "accent" token (light theme)
GLYPH = "#ffffff"


def render(svg: str, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(ACCENT))
    margin = size * 0.04
    painter.drawRoundedRect(QRectF(margin, margin, size - 2 * margin, size - 2 * margin), size * 0.2, size * 0.2)
    renderer = QSvgRenderer(QByteArray(svg.replace("currentColor", GLYPH).encode()))
    if not renderer.isValid():
        raise SystemExit("render_icon: the SVG could not be read")
    inset = size * 0.2
    renderer.render(painter, QRectF(inset, inset, size - 2 * inset, size - 2 * inset))
    painter.end()
    return image


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QGuiApplication([])
    size = int(argv[2]) if len(argv) == 3 else 256
    image = render(Path(argv[0]).read_text(encoding="utf-8"), size)
    if not image.save(argv[1]):  # the format from the file name (.png)
        raise SystemExit(f"render_icon: could not write {argv[1]}")
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
