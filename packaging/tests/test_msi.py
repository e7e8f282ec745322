"""The Windows installer (packaging/msi): build it, read its tables, then install, run, upgrade and uninstall it
under Wine.

On demand, outside the default test paths (about 3 minutes on 2 cores):
    uv run pytest packaging/tests/test_msi.py -p no:cacheprovider
Building and reading the MSI needs wixl + msitools (apt-get install wixl msitools). The Wine part also needs
wine, wine64 and gcc-mingw-w64-x86-64 (apt-get install wine wine64 gcc-mingw-w64-x86-64) and is skipped, saying
so, without them. Everything goes under build/msi-test/: two MSIs (this version and 0.0.9, for the upgrade),
their work folder and a throwaway Wine prefix. Measurements end up in build/msi-test/measurements.txt.

Wine 8 is not Windows (shared/PACKAGING.md 4.5-6): two system DLLs that Windows 10/11 have and Wine 8 lacks are
stood in for in the throwaway prefix only, never in the MSI: icuuc.dll (imported by Qt6Core.dll; every lookup
fails, Qt keeps its built-in codecs) and bcryptprimitives.dll (ProcessPrng, imported by nh3's Rust extension;
fed from RtlGenRandom). Wine drops QT_* variables from the Unix environment, so the offscreen platform is set as a
Windows user environment variable in the prefix's registry.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_SH = ROOT / "packaging" / "msi" / "build.sh"
OUT = ROOT / "build" / "msi-test"
UPGRADE_CODE = "{AB0847C8-4DB0-49D2-BC05-46086B6108EE}"  # fixed for the life of the product
OLD_VERSION = "0.0.9"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
INSTALL_DIR = r"C:\Program Files\Desk"
UNINSTALL_KEY = r"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall"
MEASUREMENTS: dict[str, str] = {}

ICUUC_STUB = r"""
#define X __declspec(dllexport)
X void *ucnv_open(const char *name, int *err) { if (err) *err = 4; return 0; }
X void ucnv_close(void *c) { }
X void UCNV_FROM_U_CALLBACK_SUBSTITUTE(void) { }
X void UCNV_TO_U_CALLBACK_SUBSTITUTE(void) { }
X void ucnv_reset(void *c) { }
X signed char ucnv_getMaxCharSize(const void *c) { return 1; }
X const char *ucnv_getName(const void *c, int *err) { if (err) *err = 4; return ""; }
X void ucnv_getToUCallBack(const void *c, void **a, const void **x) { if (a) *a = 0; if (x) *x = 0; }
X void ucnv_getFromUCallBack(const void *c, void **a, const void **x) { if (a) *a = 0; if (x) *x = 0; }
X void ucnv_setToUCallBack(void *c, void *a, const void *x, void **oa, const void **ox, int *err)
{ if (err) *err = 4; }
X void ucnv_setFromUCallBack(void *c, void *a, const void *x, void **oa, const void **ox, int *err)
{ if (err) *err = 4; }
X void ucnv_cbToUWriteUChars(void *a, const void *s, int n, int o, int *err) { if (err) *err = 4; }
X void ucnv_cbFromUWriteUChars(void *a, const void **s, const void *e, int o, int *err) { if (err) *err = 4; }
X void ucnv_toUnicode(void *c, void **t, const void *te, const char **s, const char *se, int *o, signed char f,
                     int *err) { if (err) *err = 4; }
X void ucnv_fromUnicode(void *c, char **t, const char *te, const void **s, const void *se, int *o, signed char f,
                       int *err) { if (err) *err = 4; }
X int ucnv_toUCountPending(const void *c, int *err) { return 0; }
X int ucnv_fromUCountPending(const void *c, int *err) { return 0; }
X const char *ucnv_getStandardName(const char *n, const char *s, int *err) { if (err) *err = 4; return 0; }
X const char *ucnv_getAvailableName(int n) { return 0; }
X int ucnv_countAvailable(void) { return 0; }
"""

BCRYPTPRIMITIVES_STUB = r"""
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length) {
        ULONG n = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n;
        length -= n;
    }
    return TRUE;
}
"""


# --- building and reading the MSI ------------------------------------------------------------------------------


@dataclass
class Built:
    old: Path
    new: Path
    payload: Path


def _missing(tools: list[str]) -> list[str]:
    return [tool for tool in tools if shutil.which(tool) is None]


def _build(version: str) -> Path:
    started = time.monotonic()
    result = subprocess.run(
        [str(BUILD_SH), "--version", version, "--out", str(OUT / "dist"), "--build-dir", str(OUT / "work")],
        capture_output=True, text=True, check=False, timeout=1800,
    )  # fmt: skip
    assert result.returncode == 0, (
        f"build.sh --version {version} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    msi = OUT / "dist" / f"Desk-{version}-x64.msi"
    assert msi.exists(), result.stdout[-2000:]
    MEASUREMENTS[f"build {version}"] = f"{time.monotonic() - started:.0f} s, MSI {msi.stat().st_size} bytes"
    return msi


@pytest.fixture(scope="module")
def built() -> Built:
    missing = _missing(["wixl", "msiinfo", "msibuild"])
    assert not missing, f"missing {missing}: apt-get install wixl msitools"
    old = _build(OLD_VERSION)
    new = _build(VERSION)  # last, so build/msi-test/work/payload is this version's
    return Built(old=old, new=new, payload=OUT / "work" / "payload")


def table(msi: Path, name: str) -> list[dict[str, str]]:
    scratch = OUT / "msiinfo"  # `msiinfo export` writes binary columns (Icon, Binary) as files under its cwd
    scratch.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["msiinfo", "export", str(msi), name], cwd=scratch, capture_output=True, text=True, check=True
    )
    text = result.stdout
    lines = text.replace("\r\n", "\n").split("\n")
    columns = lines[0].split("\t")
    return [dict(zip(columns, line.split("\t"), strict=True)) for line in lines[3:] if line]


def properties(msi: Path) -> dict[str, str]:
    return {row["Property"]: row["Value"] for row in table(msi, "Property")}


def long_name(value: str) -> str:
    """MSI names are "SHORT~1|long name" or just "name"."""
    return value.split("|")[-1]


def installed_paths(msi: Path) -> dict[str, str]:
    """Each File row's path below INSTALLDIR (posix style) -> its Component."""
    directories = {row["Directory"]: row for row in table(msi, "Directory")}

    def path_of(directory: str) -> str:
        if directory == "INSTALLDIR":
            return ""
        row = directories[directory]
        name = long_name(row["DefaultDir"])
        parent = path_of(row["Directory_Parent"])
        return name if not parent else f"{parent}/{name}" if name != "." else parent

    component_dirs = {row["Component"]: row["Directory_"] for row in table(msi, "Component")}
    paths = {}
    for row in table(msi, "File"):
        folder = path_of(component_dirs[row["Component_"]])
        name = long_name(row["FileName"])
        paths[f"{folder}/{name}" if folder else name] = row["Component_"]
    return paths


def test_summary_and_product_properties(built: Built) -> None:
    summary = subprocess.run(["msiinfo", "suminfo", str(built.new)], capture_output=True, text=True, check=True).stdout
    assert "Template: x64;1033" in summary
    new, old = properties(built.new), properties(built.old)
    assert new["UpgradeCode"] == old["UpgradeCode"] == UPGRADE_CODE
    assert new["ProductVersion"] == VERSION and old["ProductVersion"] == OLD_VERSION
    assert new["ProductCode"] != old["ProductCode"]
    assert new["Manufacturer"] == "Desk" and new["ProductName"] == "Desk"
    assert new["ALLUSERS"] == "1"  # per-machine
    assert new["ARPHELPLINK"].startswith("https://") and new["ARPURLINFOABOUT"].startswith("https://")
    assert new["ARPPRODUCTICON"] == "desk.ico"
    assert [row["Name"] for row in table(built.new, "Icon")] == ["desk.ico"]


def test_every_payload_file_is_in_the_msi(built: Built) -> None:
    payload = {p.relative_to(built.payload).as_posix() for p in built.payload.rglob("*") if p.is_file()}
    paths = installed_paths(built.new)
    assert set(paths) == payload
    components = {row["Component"]: row for row in table(built.new, "Component")}
    assert all(int(components[c]["Attributes"]) & 256 for c in paths.values()), "every component is 64-bit"
    for required in (
        "python/python.exe",
        "python/pythonw.exe",
        "python/python311.dll",
        "python/python311.zip",
        "python/python311._pth",
        "bin/desk.exe",
        "python/Lib/site-packages/desk/cli.py",
        "python/Lib/site-packages/desk/__pycache__/cli.cpython-311.pyc",
        "python/Lib/site-packages/desk/ui/icons/inbox.svg",
        "python/Lib/site-packages/desk/storage/migrations/env.py",
        "python/Lib/site-packages/PySide6/Qt6Core.dll",
        "python/Lib/site-packages/PySide6/plugins/platforms/qwindows.dll",
        "python/Lib/site-packages/PySide6/plugins/imageformats/qsvg.dll",
    ):
        assert required in paths, required
    directories = {row["Directory"]: row for row in table(built.new, "Directory")}
    assert long_name(directories["INSTALLDIR"]["DefaultDir"]) == "Desk"
    assert directories["INSTALLDIR"]["Directory_Parent"] == "ProgramFiles64Folder"


def test_payload_is_for_windows(built: Built) -> None:
    site = built.payload / "python" / "Lib" / "site-packages"
    pth = (built.payload / "python" / "python311._pth").read_text()
    assert "Lib\\site-packages" in pth and "import site" not in pth
    assert not (site / "bin").exists(), "the build host's console scripts were removed"
    # Markers evaluated for Windows: keyring's Windows backend and zoneinfo data in; Linux-only packages out.
    assert (site / "win32ctypes").is_dir() and (site / "tzdata").is_dir()
    assert not (site / "secretstorage").exists() and not (site / "jeepney").exists()
    assert list((site / "psycopg_binary").glob("*.pyd")), "psycopg[binary] for Windows (bundles libpq)"
    assert list(site.glob("_cffi_backend.cp311-win_amd64.pyd"))
    launcher = (built.payload / "bin" / "desk.exe").read_bytes()
    assert launcher[:2] == b"MZ"
    assert b"#!<launcher_dir>\\..\\python\\python.exe\r\n" in launcher
    with zipfile.ZipFile(built.payload / "bin" / "desk.exe") as appended:
        assert "from desk.cli import main" in appended.read("__main__.py").decode()


def test_start_menu_shortcut(built: Built) -> None:
    [shortcut] = table(built.new, "Shortcut")
    assert shortcut["Directory_"] == "ProgramMenuFolder"
    assert long_name(shortcut["Name"]) == "Desk"
    assert shortcut["Target"] == "[INSTALLDIR]python\\pythonw.exe"  # no console window
    assert shortcut["Arguments"] == "-m desk"
    assert shortcut["Icon_"] == "desk.ico" and shortcut["WkDir"] == "INSTALLDIR"
    component = {row["Component"]: row for row in table(built.new, "Component")}[shortcut["Component_"]]
    [key] = [row for row in table(built.new, "Registry") if row["Registry"] == component["KeyPath"]]
    assert key["Root"] == "2", "the shortcut's key path is under HKLM, not in the user's settings"


def test_major_upgrade_rows(built: Built) -> None:
    rows = table(built.new, "Upgrade")
    assert {row["UpgradeCode"] for row in rows} == {UPGRADE_CODE}
    older = [row for row in rows if row["ActionProperty"] == "WIX_UPGRADE_DETECTED"]
    assert older and older[0]["VersionMax"] == VERSION and older[0]["VersionMin"] == ""
    sequence = {row["Action"]: int(row["Sequence"]) for row in table(built.new, "InstallExecuteSequence")}
    assert sequence["InstallValidate"] < sequence["RemoveExistingProducts"] < sequence["InstallInitialize"]
    assert sequence["SetARPINSTALLLOCATION"] < sequence["RegisterProduct"]
    conditions = [row["Condition"] for row in table(built.new, "LaunchCondition")]
    assert "NOT WIX_DOWNGRADE_DETECTED" in conditions


def test_system_path_entry(built: Built) -> None:
    [row] = table(built.new, "Environment")
    assert row["Name"] == "=-*PATH"  # set; removed on uninstall; system-wide
    assert row["Value"] == "[~];[INSTALLDIR]bin"  # appended
    assert installed_paths(built.new)["bin/desk.exe"] == row["Component_"]
    sequence = {r["Action"] for r in table(built.new, "InstallExecuteSequence")}
    assert {"WriteEnvironmentStrings", "RemoveEnvironmentStrings"} <= sequence


def test_nothing_per_user(built: Built) -> None:
    assert all(row["Root"] == "2" for row in table(built.new, "Registry")), "HKLM only"
    directories = {row["Directory"] for row in table(built.new, "Directory")}
    standard = {d for d in directories if not re.fullmatch(r"d[0-9A-F]{32}", d)}
    assert standard == {"TARGETDIR", "ProgramFiles64Folder", "INSTALLDIR", "ProgramMenuFolder"}
    assert table(built.new, "RemoveFile") == [] or all(
        row["DirProperty"] in ("ProgramMenuFolder", "INSTALLDIR") for row in table(built.new, "RemoveFile")
    )


# --- under Wine ------------------------------------------------------------------------------------------------


@dataclass
class Wine:
    prefix: Path
    env: dict[str, str]
    state: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        # Console programs under Wine need pipes for their standard streams (PACKAGING.md 4.5).
        return subprocess.run(["wine", *args], env=self.env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=timeout, check=False)  # fmt: skip

    def msiexec(self, action: str, msi: Path) -> tuple[int, float]:
        started = time.monotonic()
        result = self.run("msiexec", action, "Z:" + str(msi).replace("/", "\\"), "/qn")
        subprocess.run(["wineserver", "-w"], env=self.env, check=False, timeout=300)
        return result.returncode, time.monotonic() - started

    def unix(self, windows_path: str) -> Path:
        relative = PureWindowsPath(windows_path)
        assert relative.drive.upper() == "C:", windows_path
        return self.prefix / "drive_c" / Path(*relative.parts[1:])

    def registry(self, key: str) -> dict[str, dict[str, str]]:
        """`reg query KEY /s` as {subkey: {value name: data}}; {} when the key does not exist."""
        result = self.run("reg", "query", key, "/s")
        keys: dict[str, dict[str, str]] = {}
        current = None
        for line in result.stdout.replace("\r", "").split("\n"):
            if line.startswith("HKEY_"):
                current = keys.setdefault(line.strip(), {})
            elif current is not None and (match := re.match(r"^\s+(\S.*?)\s+(REG_\w+)\s*(.*)$", line)):
                current[match.group(1)] = match.group(3)
        return keys if result.returncode == 0 else {}

    def products(self) -> list[dict[str, str]]:
        return [v for v in self.registry(UNINSTALL_KEY).values() if v.get("DisplayName") == "Desk"]

    def system_path(self) -> str:
        key = r"HKLM\System\CurrentControlSet\Control\Session Manager\Environment"
        return next(iter(self.registry(key).values()), {}).get("PATH", "")

    def installed_files(self) -> list[Path]:
        folder = self.unix(INSTALL_DIR)
        return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []

    def shortcuts(self) -> list[Path]:
        return sorted(self.prefix.glob("drive_c/**/Start Menu/Programs/Desk.lnk"))


@pytest.fixture(scope="module")
def wine() -> Iterator[Wine]:
    missing = _missing(["wine", "wineserver", "x86_64-w64-mingw32-gcc"])
    if missing:
        pytest.skip(f"no {missing}: apt-get install wine wine64 gcc-mingw-w64-x86-64 (the MSI checks above still ran)")
    prefix = OUT / "wineprefix"
    shutil.rmtree(prefix, ignore_errors=True)
    env = {
        **os.environ,
        "WINEPREFIX": str(prefix),
        "WINEARCH": "win64",
        "WINEDEBUG": "-all",
        "WINEDLLOVERRIDES": "mscoree,mshtml=",  # no Mono/Gecko install prompts
        "DISPLAY": "",  # Wine's null display driver; Qt runs offscreen anyway
    }
    started = time.monotonic()
    subprocess.run(["wine", "wineboot", "--init"], env=env, capture_output=True, check=True, timeout=300)
    subprocess.run(["wineserver", "-w"], env=env, check=True, timeout=300)
    system32 = prefix / "drive_c" / "windows" / "system32"
    for name, source, libraries in (
        ("icuuc", ICUUC_STUB, []),
        ("bcryptprimitives", BCRYPTPRIMITIVES_STUB, ["-ladvapi32"]),
    ):
        c_file = OUT / f"{name}_stub.c"
        c_file.write_text(source)
        subprocess.run(["x86_64-w64-mingw32-gcc", "-shared", "-O2", "-s", "-o", str(system32 / f"{name}.dll"),
                        str(c_file), *libraries], check=True)  # fmt: skip
    box = Wine(prefix=prefix, env=env)
    # Wine drops QT_* from the Unix environment; a Windows user variable reaches the processes.
    box.run("reg", "add", r"HKCU\Environment", "/v", "QT_QPA_PLATFORM", "/d", "offscreen", "/f")
    subprocess.run(["wineserver", "-w"], env=env, check=True, timeout=300)
    MEASUREMENTS["wine prefix (wineboot + stubs)"] = f"{time.monotonic() - started:.0f} s"
    yield box
    subprocess.run(["wineserver", "-k"], env=env, check=False, timeout=60)  # this prefix's processes only


def test_wine_install_older_version(built: Built, wine: Wine) -> None:
    rc, seconds = wine.msiexec("/i", built.old)
    MEASUREMENTS[f"wine msiexec /i {OLD_VERSION} (fresh)"] = f"{seconds:.1f} s"
    assert rc == 0
    assert [p["DisplayVersion"] for p in wine.products()] == [OLD_VERSION]
    assert len(wine.installed_files()) == len(installed_paths(built.old))
    assert wine.system_path().count(INSTALL_DIR + "\\bin") == 1
    assert wine.shortcuts(), "Start-menu shortcut Desk.lnk"
    assert wine.registry(r"HKLM\Software\Desk\Installer")


def test_wine_desk_command_on_path(wine: Wine) -> None:
    """A new cmd reads the system PATH the MSI changed. (Checked on the first install: Wine 8's
    RemoveEnvironmentStrings leaves the ";" behind, so after an upgrade the PATH holds an empty entry, and
    Wine's cmd stops its search there; Windows removes the separator too.)"""
    result = wine.run("cmd", "/c", "desk", "db", "--help")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "upgrade" in result.stdout


def test_wine_user_settings_written(wine: Wine) -> None:
    """A user's settings, where Desk keeps them on Windows: its config file and data folder (platformdirs:
    %LOCALAPPDATA%\\desk) and QSettings (HKCU\\Software\\Desk\\Desk)."""
    script = "from desk.config import config_file, data_dir; print(config_file()); print(data_dir())"
    result = wine.run(INSTALL_DIR + r"\python\python.exe", "-c", script)
    assert result.returncode == 0, result.stderr
    config, data = result.stdout.split()
    assert "AppData" in config
    wine.state["config"], wine.state["data"] = config, data
    wine.unix(config).parent.mkdir(parents=True, exist_ok=True)
    wine.unix(config).write_text("# written by packaging/tests/test_msi.py: must survive upgrade and uninstall\n")
    (wine.unix(data) / "keep-me.txt").write_text("a user's file\n")
    added = wine.run("reg", "add", r"HKCU\Software\Desk\Desk", "/v", "packaging_test", "/d", "keep", "/f")
    assert added.returncode == 0


def _user_settings_intact(wine: Wine) -> None:
    assert wine.unix(wine.state["config"]).read_text().startswith("# written by packaging/tests/test_msi.py")
    assert (wine.unix(wine.state["data"]) / "keep-me.txt").exists()
    values = wine.registry(r"HKCU\Software\Desk\Desk")
    assert any(v.get("packaging_test") == "keep" for v in values.values()), values


def test_wine_major_upgrade_leaves_one_product(built: Built, wine: Wine) -> None:
    rc, seconds = wine.msiexec("/i", built.new)
    MEASUREMENTS[f"wine msiexec /i {VERSION} over {OLD_VERSION}"] = f"{seconds:.1f} s"
    assert rc == 0
    products = wine.products()
    assert [p["DisplayVersion"] for p in products] == [VERSION], products
    assert products[0]["Publisher"] == "Desk"
    assert products[0]["InstallLocation"].rstrip("\\") == INSTALL_DIR
    assert wine.system_path().count(INSTALL_DIR + "\\bin") == 1
    assert len(wine.installed_files()) == len(installed_paths(built.new))
    _user_settings_intact(wine)


def test_wine_downgrade_is_refused(built: Built, wine: Wine) -> None:
    rc, _ = wine.msiexec("/i", built.old)
    assert rc != 0
    assert [p["DisplayVersion"] for p in wine.products()] == [VERSION]


def test_wine_smoke_test(wine: Wine) -> None:
    started = time.monotonic()
    result = wine.run(INSTALL_DIR + r"\bin\desk.exe", "--smoke-test")
    seconds = time.monotonic() - started
    line = next((x for x in result.stdout.splitlines() if x.startswith("DESK-SMOKE-OK")), None)
    MEASUREMENTS["desk --smoke-test (installed, Wine)"] = f"exit {result.returncode} in {seconds:.1f} s: " + (
        line or (result.stderr.strip().splitlines() or ["no output"])[-1]
    )
    assert result.returncode == 0 and line is not None, result.stdout + result.stderr
    assert f"version={VERSION}" in line and "platform=offscreen" in line and "python=3.11" in line


def _desk_gui_processes(wine: Wine) -> list[int]:
    """pythonw.exe -m desk processes of this Wine prefix (from /proc: their command line and WINEPREFIX)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if "pythonw.exe" in cmdline and "-m desk" in cmdline and f"WINEPREFIX={wine.prefix}".encode() in environ:
            found.append(int(proc.name))
    return found


def test_wine_start_menu_shortcut_starts_the_agent_window(wine: Wine) -> None:
    [shortcut] = wine.shortcuts()
    subprocess.Popen(["wine", "start", "/unix", str(shortcut)], env=wine.env, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while not _desk_gui_processes(wine) and time.monotonic() < deadline:
        time.sleep(1)
    assert _desk_gui_processes(wine), "the shortcut did not start pythonw.exe -m desk"
    time.sleep(8)  # still there: it is showing its first window (the connection dialog), not dead on start
    assert _desk_gui_processes(wine), "pythonw.exe -m desk exited within 8 s of starting"
    subprocess.run(["wineserver", "-k"], env=wine.env, check=False, timeout=60)  # this prefix's processes only
    subprocess.run(["wineserver", "-w"], env=wine.env, check=False, timeout=60)


def test_wine_uninstall_leaves_no_files_and_keeps_user_settings(built: Built, wine: Wine) -> None:
    rc, seconds = wine.msiexec("/x", built.new)
    MEASUREMENTS[f"wine msiexec /x {VERSION}"] = f"{seconds:.1f} s"
    assert rc == 0
    assert wine.installed_files() == []
    assert wine.products() == []
    assert INSTALL_DIR + "\\bin" not in wine.system_path()
    assert wine.shortcuts() == []
    assert not wine.registry(r"HKLM\Software\Desk\Installer")
    _user_settings_intact(wine)


def test_report_measurements(capsys: pytest.CaptureFixture[str]) -> None:
    for msi in sorted((OUT / "dist").glob("*.msi")):
        MEASUREMENTS[f"size {msi.name}"] = f"{msi.stat().st_size} bytes ({msi.stat().st_size / 2**20:.1f} MiB)"
    text = "\n".join(f"{key}: {value}" for key, value in MEASUREMENTS.items()) + "\n"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "measurements.txt").write_text(text)
    with capsys.disabled():
        print("\n" + text, end="")
