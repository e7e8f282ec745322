"""Guard against PySide6 builds that drop a reference to None on every void Qt call.

PySide6 6.12.0 on CPython 3.11 does (../shared/checks/pyside_none_refcount.py): None is not immortal before
3.12, so after a few thousand calls the interpreter aborts with "none_dealloc". Runs in a subprocess so a bad
build fails this test instead of killing the test run.
"""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import sys
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel("x")
before = sys.getrefcount(None)
for _ in range(20000):
    label.setText("y")
    app.processEvents()
print(sys.getrefcount(None) - before)
"""


def test_void_qt_calls_keep_none_alive() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, f"PySide6 crashed the interpreter: {result.stderr[-2000:]}"
    drift = int(result.stdout.strip().splitlines()[-1])
    # 40,000 void calls: a leaking build loses ~40,000 references; a sound one stays within noise.
    assert abs(drift) < 1000, f"refcount(None) drifted by {drift} over 40,000 void Qt calls"
