"""The AppImage as a person gets it, built once per session by packaging/appimage/build.sh (or the file named by
DESK_APPIMAGE), then inspected and run through its own runtime (`--appimage-extract-and-run`: no FUSE needed).

On demand only, outside the default testpaths (a build takes about a minute, the whole file two or three):

    uv run pytest packaging/tests/test_appimage.py -p no:cacheprovider
    DESK_APPIMAGE=dist/Desk-0.1.0-x86_64.AppImage uv run pytest packaging/tests/test_appimage.py -p no:cacheprovider

Besides the build's own tools it needs desktop-file-utils, and for the screenshot xvfb, xdotool and imagemagick.
The screenshot of the agent window started from the AppImage lands in build/screenshots/appimage-window.png.
"""

from __future__ import annotations

import ctypes.util
import json
import os
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from desk import __version__
from desk.storage.db import head_revision
from tests.web.serving import desk_serve

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "build" / "screenshots" / "appimage-window.png"
BUILD_LOG = ROOT / "build" / "appimage" / "test-build.log"
SMOKE_LINE = re.compile(r"^DESK-SMOKE-OK version=(\S+) schema=(\S+) queues=(\d+) platform=(\S+)", re.MULTILINE)


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def require_tools(tools: dict[str, str]) -> None:
    missing = sorted({package for tool, package in tools.items() if shutil.which(tool) is None})
    if missing:
        pytest.fail(f"missing tools: apt-get install {' '.join(missing)}")


@pytest.fixture(scope="session")
def appimage() -> Path:
    """The AppImage under test: DESK_APPIMAGE when set, else a fresh build of the working tree."""
    if given := os.environ.get("DESK_APPIMAGE"):
        path = Path(given).resolve()
        assert path.is_file(), f"DESK_APPIMAGE={given} is not a file"
        return path
    BUILD_LOG.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with BUILD_LOG.open("w") as log:
        result = subprocess.run(
            [str(ROOT / "packaging" / "appimage" / "build.sh")], stdout=log, stderr=subprocess.STDOUT, timeout=1800
        )
    output = BUILD_LOG.read_text()
    assert result.returncode == 0, f"build failed (full log: {BUILD_LOG}):\n{output[-4000:]}"
    path = ROOT / "dist" / f"Desk-{project_version()}-x86_64.AppImage"
    print(f"\nbuild: {time.monotonic() - started:.1f} s, {path.name}: {path.stat().st_size:,} bytes")
    return path


@pytest.fixture(scope="session")
def extracted(appimage: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The AppDir inside the image, as its runtime extracts it."""
    folder = tmp_path_factory.mktemp("extracted")
    result = subprocess.run(
        [str(appimage), "--appimage-extract"], cwd=folder, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return folder / "squashfs-root"


def app_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a run: no Desk or Qt settings from outside, config and data in the test's folder."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DESK_", "QT_"))}
    for name in ("config", "data", "cache", "desk", "tmp"):
        (tmp_path / name).mkdir(exist_ok=True)
    env.update(
        XDG_CONFIG_HOME=str(tmp_path / "config"),  # QSettings and desk.toml
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        DESK_DATA_DIR=str(tmp_path / "desk"),
        TMPDIR=str(tmp_path / "tmp"),  # where the runtime extracts the image
        QT_QPA_PLATFORM="offscreen",
    )
    env.update(extra)
    return env


def run_appimage(
    appimage: Path, env: dict[str, str], *args: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(appimage), "--appimage-extract-and-run", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


# --- the file ----------------------------------------------------------------------------------------------------


def runtime_sections(appimage: Path) -> tuple[int, dict[str, bytes]]:
    """The runtime's size (where its ELF section headers end) and its sections' contents, from the ELF64 headers."""
    with appimage.open("rb") as handle:
        data = handle.read(1 << 20)
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names_at = headers[shstrndx][4]
    sections = {}
    for name_offset, _type, _flags, _addr, offset, size, *_rest in headers:
        start = names_at + name_offset
        sections[data[start : data.index(b"\0", start)].decode()] = data[offset : offset + size]
    return shoff + shentsize * shnum, sections


def test_elf_with_appimage_type2_magic(appimage: Path) -> None:
    with appimage.open("rb") as handle:
        head = handle.read(16)
    assert head[:4] == b"\x7fELF"
    assert head[4] == 2, "ELF64"
    assert head[8:11] == b"AI\x02", "AppImage type 2 magic at offset 8"
    assert os.access(appimage, os.X_OK)


def test_update_information_and_signature_are_blank(appimage: Path) -> None:
    _size, sections = runtime_sections(appimage)
    for name in (".upd_info", ".sha256_sig", ".sig_key", ".digest_md5"):
        assert name in sections, f"the runtime has no {name} section"
        assert len(sections[name]) > 0
        assert sections[name] == bytes(len(sections[name])), f"{name} still holds the donor AppImage's data"
    # The same through binutils, when it is there: readelf's hex dump of .upd_info shows only zero words.
    if shutil.which("readelf"):
        dump = subprocess.run(
            ["readelf", "--hex-dump=.upd_info", str(appimage)], capture_output=True, text=True, check=True
        ).stdout
        words = re.findall(r"^\s*0x[0-9a-f]+ ((?:[0-9a-f]{8} ?){1,4})", dump, re.MULTILINE)
        assert words and all(set(line.replace(" ", "")) == {"0"} for line in words)


def test_squashfs_follows_the_runtime(appimage: Path) -> None:
    size, _sections = runtime_sections(appimage)
    offset = subprocess.run([str(appimage), "--appimage-offset"], capture_output=True, text=True, check=True)
    assert int(offset.stdout) == size
    with appimage.open("rb") as handle:
        handle.seek(size)
        superblock = handle.read(96)
    assert superblock[:4] == b"hsqs"
    (compression,) = struct.unpack_from("<H", superblock, 20)
    assert compression == 1, "gzip: the only compression besides xz that this runtime reads"


def test_appdir_layout(extracted: Path) -> None:
    require_tools({"desktop-file-validate": "desktop-file-utils"})
    apprun = extracted / "AppRun"
    assert os.access(apprun, os.X_OK)
    assert '"$HERE/usr/bin/desk/desk" "$@"' in apprun.read_text()
    assert os.access(extracted / "usr/bin/desk/desk", os.X_OK)

    desktop = extracted / "desk.desktop"
    validation = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
    assert validation.returncode == 0 and not validation.stdout.strip(), validation.stdout
    entries = dict(line.split("=", 1) for line in desktop.read_text().splitlines() if "=" in line)
    assert entries["Exec"] == "desk" and entries["Icon"] == "desk" and entries["Type"] == "Application"
    assert entries["X-AppImage-Version"] == project_version()
    assert (extracted / "usr/share/applications/desk.desktop").read_text() == desktop.read_text()

    icon = extracted / "desk.png"
    png = icon.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (256, 256)
    assert (extracted / ".DirIcon").is_symlink() and os.readlink(extracted / ".DirIcon") == "desk.png"
    assert (extracted / "usr/share/icons/hicolor/256x256/apps/desk.png").read_bytes() == png


def test_package_data_is_bundled(extracted: Path) -> None:
    internal = extracted / "usr/bin/desk/_internal"
    source = ROOT / "desk"
    migrations = sorted(p.name for p in (source / "storage/migrations/versions").glob("*.py"))
    bundled = sorted(p.name for p in (internal / "desk/storage/migrations/versions").glob("*.py"))
    assert bundled == migrations, "Alembic loads the migrations' .py files from disk"
    assert (internal / "desk/storage/migrations/env.py").is_file()
    icons = sorted(p.name for p in (source / "ui/icons").glob("*.svg"))
    assert sorted(p.name for p in (internal / "desk/ui/icons").glob("*.svg")) == icons
    templates = sorted(p.name for p in (source / "web/templates").glob("*.html"))
    assert sorted(p.name for p in (internal / "desk/web/templates").glob("*.html")) == templates
    assert (internal / "desk/web/static/desk.css").is_file()
    plugins = internal / "PySide6/Qt/plugins"
    assert (plugins / "platforms/libqxcb.so").is_file()
    assert not (plugins / "platformthemes/libqgtk3.so").exists(), "the GTK3 theme plugin is left out"


# --- running it --------------------------------------------------------------------------------------------------


def test_smoke_test_offscreen(appimage: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_appimage(appimage, app_env(tmp_path), "--smoke-test")
    wall = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    match = SMOKE_LINE.search(result.stdout)
    assert match is not None, result.stdout + result.stderr
    version, schema, queues, platform = match.groups()
    assert version == project_version() == __version__
    assert schema == head_revision()
    assert int(queues) > 0
    assert platform == "offscreen"
    assert not list((tmp_path / "tmp").iterdir()), "the runtime removes what it extracted"
    print(f"\nsmoke test through the AppImage: {wall:.2f} s wall\n{match.group(0)}")


def fuse_available() -> bool:
    return (
        Path("/dev/fuse").exists() and ctypes.util.find_library("fuse") is not None and bool(shutil.which("fusermount"))
    )


@pytest.mark.skipif(
    not fuse_available(), reason="no /dev/fuse, libfuse2 or fusermount (apt-get install libfuse2 fuse3)"
)
def test_smoke_test_through_fuse_mount(appimage: Path, tmp_path: Path) -> None:
    """What a double click does on a desktop: the runtime mounts the image (libfuse2) instead of extracting it."""
    env = app_env(tmp_path)
    env.pop("APPIMAGE_EXTRACT_AND_RUN", None)
    result = subprocess.run([str(appimage), "--smoke-test"], env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert SMOKE_LINE.search(result.stdout) is not None, result.stdout + result.stderr


def test_version(appimage: Path, tmp_path: Path) -> None:
    result = run_appimage(appimage, app_env(tmp_path), "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"desk {project_version()}"


def test_db_upgrade_then_commands_on_it(appimage: Path, tmp_path: Path) -> None:
    env = app_env(tmp_path)
    path = tmp_path / "x.db"
    url = f"sqlite:///{path}"  # an absolute path: sqlite:////tmp/...
    upgrade = run_appimage(appimage, env, "--url", url, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    assert f"Database at {head_revision()} (was empty)." in upgrade.stdout
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [(head_revision(),)]

    check = run_appimage(appimage, env, "--url", url, "db", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"matches this Desk {project_version()}" in check.stdout

    worker = run_appimage(appimage, env, "--url", url, "worker", "--once")
    assert worker.returncode == 0, worker.stdout + worker.stderr
    assert "mail.fetch: 0 fetched" in worker.stdout

    agent = run_appimage(
        appimage, env, "--url", url, "agent", "add", "admin", "--name", "Ada Admin", "--email", "ada@desk.invalid",
        "--password", "correct horse battery", "--admin",
    )  # fmt: skip
    assert agent.returncode == 0, agent.stdout + agent.stderr  # argon2's compiled binding hashed the password
    assert "Agent Ada Admin added" in agent.stdout

    counts = run_appimage(appimage, env, "--url", url, "queue", "counts")
    assert counts.returncode == 0, counts.stdout + counts.stderr
    assert "Open" in counts.stdout


def test_serve_answers_pages_and_the_api(appimage: Path, tmp_path: Path) -> None:
    env = app_env(tmp_path)
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    assert run_appimage(appimage, env, "--url", url, "db", "upgrade").returncode == 0
    with desk_serve(url, tmp_path / "serve.log", desk=(str(appimage), "--appimage-extract-and-run"), env=env) as base:
        with urllib.request.urlopen(base + "/tickets/new") as page:
            assert b"<h1>Open a new ticket</h1>" in page.read()
        with urllib.request.urlopen(base + "/static/desk.css") as css:
            assert css.headers["content-type"].startswith("text/css")
        with urllib.request.urlopen(base + "/api/v1/openapi.json") as schema:
            assert json.load(schema)["info"]["title"] == "Desk API"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + "/api/v1/tickets")
        assert refused.value.code == 401


@pytest.mark.parametrize(
    "url", ["postgresql://desk@127.0.0.1:1/desk", "mysql://desk@127.0.0.1:1/desk"], ids=["psycopg", "pymysql"]
)
def test_server_drivers_are_bundled(appimage: Path, tmp_path: Path, url: str) -> None:
    """Port 1 on the loopback refuses: the driver was loaded and tried to connect (no ImportError)."""
    result = run_appimage(appimage, app_env(tmp_path), "--url", url, "db", "check", timeout=60)
    assert result.returncode == 1
    assert "desk: Cannot read the database" in result.stderr, result.stderr
    assert "refused" in result.stderr.lower()
    assert "No module named" not in result.stderr


# --- a real window ------------------------------------------------------------------------------------------------


@contextmanager
def xvfb(size: str = "1600x1000x24") -> Iterator[str]:
    """A virtual X screen for the duration; yields its DISPLAY."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", size, "-nolisten", "tcp"],
        pass_fds=[write_end],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end) as pipe:
            number = pipe.readline().strip()
        assert number, "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def xdotool(display: str, *args: str) -> str:
    result = subprocess.run(
        ["xdotool", *args], env={**os.environ, "DISPLAY": display}, capture_output=True, text=True, timeout=30
    )
    return result.stdout.strip() if result.returncode == 0 else ""


def wait_for_window(display: str, title: str, app: subprocess.Popen[bytes], log: Path, seconds: float = 90) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := xdotool(display, "search", "--name", title):
            return found.splitlines()[0]
        if app.poll() is not None:
            pytest.fail(f"Desk exited ({app.returncode}) before showing {title!r}:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    pytest.fail(f"no window {title!r} after {seconds} s:\n{log.read_text()[-3000:]}")


@contextmanager
def started(appimage: Path, env: dict[str, str], log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """The AppImage running in the background, its output in `log`; stopped (with Desk) if still running after."""
    with log.open("wb") as output:
        app = subprocess.Popen(
            [str(appimage), "--appimage-extract-and-run", *args],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the runtime and Desk are stopped together
        )
        try:
            yield app
        finally:
            if app.poll() is None:
                os.killpg(app.pid, signal.SIGTERM)
                app.wait(timeout=30)


def test_window_on_xvfb_and_screenshot(appimage: Path, tmp_path: Path) -> None:
    """On Xvfb (xcb): the smoke test; no arguments (a first start: the connection dialog); then `demo --tickets 30
    --open`, signed in as the demo admin by typing, the agent window grabbed, and quit with Ctrl+Q."""
    require_tools({"Xvfb": "xvfb", "xdotool": "xdotool", "import": "imagemagick", "identify": "imagemagick"})
    log = tmp_path / "desk.log"
    with xvfb() as display:
        env = app_env(tmp_path, QT_QPA_PLATFORM="xcb", DISPLAY=display)
        smoke = run_appimage(appimage, env, "--smoke-test")  # the bundled xcb plugin and its libraries load
        match = SMOKE_LINE.search(smoke.stdout)
        assert smoke.returncode == 0 and match is not None, smoke.stdout + smoke.stderr
        assert match.group(4) == "xcb"

        with started(appimage, env, log) as app:  # what a double click does
            wait_for_window(display, "^Connect to the Desk database$", app, log)

        with started(appimage, env, log, "demo", "--tickets", "30", "--open") as app:
            login = wait_for_window(display, "^Sign in to Desk$", app, log)
            xdotool(display, "windowfocus", "--sync", login)
            xdotool(display, "type", "--delay", "20", "demo-admin")
            xdotool(display, "key", "Return")
            window = wait_for_window(display, "^Desk — ", app, log)
            time.sleep(3)  # the queue counts and the Open queue load
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["import", "-display", display, "-window", window, str(SCREENSHOT)], check=True, timeout=60)
            xdotool(display, "windowfocus", "--sync", window)
            xdotool(display, "key", "ctrl+q")  # File > Quit
            assert app.wait(timeout=30) == 0, log.read_text()
    assert "Opening the agent window" in log.read_text()
    colours = subprocess.run(
        ["identify", "-format", "%k", str(SCREENSHOT)], capture_output=True, text=True, check=True
    ).stdout
    assert int(colours) > 200, "the screenshot shows a drawn window, not an empty screen"
    print(f"\nscreenshot: {SCREENSHOT}")
