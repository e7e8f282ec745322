"""Benchmark of Desk's start-up: from launching it to the sign-in window, and from signing in to the first rows.

    ./dev startup-bench [--runs 7] [--url sqlite:///…demo.db]

Each figure is the median of `--runs` fresh processes, timed from outside (from starting the process to the line
it prints at that moment). Two states of Python's bytecode cache: warm (every module compiled before) and cold
(none: every module Desk imports is compiled from source, the worst case, as on a first start). The window is
measured on a local SQLite demo database (built here with `desk demo` unless `--url` names one) and through
`desk serve` on the same database; it runs offscreen. Yardsticks measured in the same run give the floor any
such program pays: the interpreter alone, and a bare PySide6 dialog with two fields. The module counts are
those loaded at that moment. Figures only, never assertions; tests/test_startup_imports.py guards what each
path imports.

`--child URL` is one start of Desk, watched from inside: "dialog N" when the sign-in window is shown (N modules
loaded), "signing" as it signs in as admin (the demo's password), "rows" when the queue shows its first rows.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

# The yardstick: the least a PySide6 program does to show a sign-in dialog.
BARE_DIALOG = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog, QFormLayout, QLineEdit
app = QApplication(sys.argv)
dialog = QDialog()
form = QFormLayout(dialog)
form.addRow("Username:", QLineEdit())
form.addRow("Password:", QLineEdit())
dialog.show()
QTimer.singleShot(0, lambda: (print("dialog", len(sys.modules), flush=True), app.quit()))
app.exec()
"""


def child(url: str) -> None:
    """Start Desk on `url` as `desk --url URL` does, and report the moments named in the module docstring."""
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv)  # desk.ui.app.application() takes this one over

    class Watch(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
            if event.type() == QEvent.Type.Show and type(watched).__name__ == "LoginDialog":
                print("dialog", len(sys.modules), flush=True)
                app.removeEventFilter(self)
                QTimer.singleShot(0, lambda: sign_in(watched))
            return False

    def sign_in(dialog: QObject) -> None:
        dialog.username.setText("admin")  # type: ignore[attr-defined]
        dialog.password.setText("demo-admin")  # type: ignore[attr-defined]
        print("signing", flush=True)
        dialog.sign_in_button.click()  # type: ignore[attr-defined]
        rows.start(2)

    def first_rows() -> None:
        from desk.ui.queue.model import QueueRole

        for widget in app.topLevelWidgets():
            model = widget.queue.model if type(widget).__name__ == "MainWindow" else None  # type: ignore[attr-defined]
            if model is not None and model.rowCount() and model.index(0, 0).data(QueueRole.ROW) is not None:
                print("rows", flush=True)
                os._exit(0)  # the figures are out: what closing takes is not start-up

    rows = QTimer()
    rows.timeout.connect(first_rows)
    watch = Watch()
    app.installEventFilter(watch)
    from desk.cli import main

    sys.exit(main(["--url", url]))


def environment(cold: bool, warm_cache: Path) -> dict[str, str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    if cold:  # an empty cache that stays empty: every run compiles every module it imports
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="desk-cold-")
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(warm_cache)
    return env


def one_run(command: list[str], env: dict[str, str]) -> tuple[dict[str, float], int]:
    """Seconds from the start to each line the process printed (by its first word), and the modules it counted."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    moments: dict[str, float] = {}
    modules = 0
    assert process.stdout is not None
    for line in process.stdout:
        words = line.split()
        moments[words[0]] = time.perf_counter() - started
        if words[0] == "dialog":
            modules = int(words[1])
    moments["exit"] = time.perf_counter() - started
    _, errors = process.communicate(timeout=60)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{errors[-2000:]}")
    return moments, modules


def measure(command: list[str], runs: int, cold: bool, warm_cache: Path) -> tuple[dict[str, float], int]:
    """Median seconds to each moment over `runs` processes (after one run that is not counted)."""
    one_run(command, environment(cold, warm_cache))
    samples: dict[str, list[float]] = {}
    modules = 0
    for _ in range(runs):
        moments, modules = one_run(command, environment(cold, warm_cache))
        for name, seconds in moments.items():
            samples.setdefault(name, []).append(seconds)
    return {name: statistics.median(values) for name, values in samples.items()}, modules


@contextlib.contextmanager
def demo_database(url: str | None) -> Iterator[str]:
    if url is not None:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="desk-startup-") as folder:
        url = f"sqlite:///{Path(folder) / 'demo.db'}"
        subprocess.run([sys.executable, "-m", "desk", "--url", url, "demo"], check=True, capture_output=True)
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--url", help="a demo database (default: a new 300-ticket SQLite demo)")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    from tests.web.serving import desk_serve

    me = [sys.executable, "-m", "tests.perf.startup_bench", "--child"]
    rows: list[tuple[str, str, dict[str, float], int]] = []  # (what, cache state, moments, modules)
    with tempfile.TemporaryDirectory(prefix="desk-warm-") as warm, demo_database(args.url) as url:
        warm_cache = Path(warm)
        for cold in (False, True):
            state = "cold" if cold else "warm"
            for what, command in (
                ("python -c pass (yardstick)", [sys.executable, "-c", "pass"]),
                ("desk --version", [sys.executable, "-m", "desk", "--version"]),
                ("bare PySide6 dialog (yardstick)", [sys.executable, "-c", BARE_DIALOG]),
                ("Desk on local SQLite", [*me, url]),
            ):
                moments, modules = measure(command, args.runs, cold, warm_cache)
                rows.append((what, state, moments, modules))
            # A server process per state: it counts sign-ins per agent (10 in 5 minutes)
            with desk_serve(url, warm_cache / f"serve-{state}.log") as address:
                moments, modules = measure([*me, address], min(args.runs, 9), cold, warm_cache)
            rows.append(("Desk through desk serve", state, moments, modules))
    report(rows, args.runs)


def report(rows: list[tuple[str, str, dict[str, float], int]], runs: int) -> None:
    def ms(moments: dict[str, float], name: str) -> float:
        return moments[name] * 1000

    print(f"\nstart-up, medians of {runs} processes (ms; cold: no bytecode cache; modules loaded at that moment)")
    print(f"  {'':<34} {'state':<5} {'to sign-in window':>17} {'×Qt':>5} {'sign-in→rows':>12} {'modules':>8}")
    floor = {state: ms(moments, "dialog") for what, state, moments, _ in rows if what.startswith("bare PySide6")}
    for what, state, moments, modules in rows:
        if "dialog" not in moments:  # a command line without a window: to its exit
            print(f"  {what:<34} {state:<5} {ms(moments, 'exit'):17.0f}")
            continue
        ratio = ms(moments, "dialog") / floor[state]
        signed = f"{ms(moments, 'rows') - ms(moments, 'signing'):12.0f}" if "rows" in moments else f"{'':12}"
        print(f"  {what:<34} {state:<5} {ms(moments, 'dialog'):17.0f} {ratio:5.2f} {signed} {modules:8}")


if __name__ == "__main__":
    main()
