"""Attachment names from strangers: made safe once, opened only when their type is safe to open, and attached only
when their type is on the administrator's list."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from desk.domain.attachments import (
    MAX_NAME_BYTES,
    OPENABLE,
    extension,
    is_type,
    may_open,
    safe_content_type,
    safe_name,
    split_types,
    type_allowed,
    type_problem,
    why_not_open,
)

DANGEROUS = (
    "exe py pyw iso img vhd vhdx chm xll docm xlsm pptm dotm html htm svg xhtml appref-ms application library-ms "
    "settingcontent-ms msix appx jnlp scf psm1 ps1 deb run sh bat cmd com scr lnk url js vbs hta jar msi reg "
    "desktop appimage dll cpl msc doc xls ppt eml mht zip"
).split()
RESERVED = ["CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))]
# What hides or changes an extension: bidi overrides and isolates, marks, zero widths, line breaks, NUL.
INVISIBLE = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u200b\u200d\ufeff\r\n\x00\t\x1b\x85"
junk = st.text(alphabet=INVISIBLE + '/\\. <>:"|?*', max_size=6)
stems = st.text(min_size=1, max_size=300).filter(lambda s: s.strip(" ."))
extensions = st.sampled_from([*OPENABLE, *DANGEROUS])


def is_safe(name: str) -> bool:
    return (
        bool(name)
        and not any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in name)
        and not re.search(r'[/\\<>:"|?*]', name)
        and name == name.strip(" .")
        and name.partition(".")[0].rstrip(" ").upper() not in RESERVED
        and len(name.encode()) <= MAX_NAME_BYTES
        and unicodedata.is_normalized("NFC", name)
    )


@given(st.text(max_size=400), st.sampled_from(["", "application/pdf", "application/x-msdownload", "a\r\nb"]))
@example("../../..", "")
@example("invoice.exe.", "")
@example("C:\\Users\\x\\..\\con.txt", "")
@example("\u202e\u2066 \r\n. .", "image/png")
def test_every_name_becomes_a_safe_non_empty_name_and_stays_so(name: str, content_type: str) -> None:
    safe = safe_name(name, content_type)
    assert is_safe(safe), safe
    assert safe_name(safe) == safe  # made safe once: the way out changes nothing more


@given(st.text(alphabet=" ./\\\r\n\x00\u202e\u200f", max_size=20))
def test_a_name_of_nothing_visible_gets_the_default_with_the_type_s_extension(name: str) -> None:
    assert safe_name(name, "application/pdf") == "attachment.pdf"
    assert safe_name(name, "image/jpeg") == "attachment.jpg"
    assert safe_name(name, "application/x-msdownload") == "attachment"  # no guessed extension for other types


@given(junk, stems, junk, extensions, st.text(alphabet=INVISIBLE + " .", max_size=6))
@example("../", "invoice", "\u202e", "exe", ". . .")
@example("", "x" * 300, "", "pdf", "")
@example("", "x/", "", "settingcontent-ms", "")  # a name that is only a long extension (17 letters)
def test_the_extension_the_agent_sees_is_the_one_the_system_opens_it_by(
    before: str, stem: str, inside: str, ext: str, after: str
) -> None:
    """Folders, invisible characters, trailing dots and spaces, a long name: the last extension stays and shows."""
    safe = safe_name(f"{before}{stem}{inside}.{ext}{after}")
    assert is_safe(safe)
    assert safe.lower().endswith(f".{ext}") and extension(safe) == ext
    assert may_open(safe) == (ext in OPENABLE)


@pytest.mark.parametrize("ext", DANGEROUS)
@pytest.mark.parametrize("form", ["invoice.{}", "Invoice.{}", "invoice.pdf.{}", "invoice.{}.", "invoice.{} . ."])
def test_every_type_off_the_allow_list_is_only_saved(ext: str, form: str) -> None:
    name = form.format(ext.upper() if form[0] == "I" else ext)
    assert not may_open(name)
    reason = why_not_open(name)
    assert reason is not None and f"“.{ext}” files" in reason.lower() and "only saves them" in reason


@pytest.mark.parametrize("name", ["invoice.exe.", "invoice.exe  ", "invoice.exe\u200b", "invoice\u202efdp.exe"])
def test_a_program_in_disguise_is_refused(name: str) -> None:
    assert not may_open(name) and extension(name) == "exe"


@pytest.mark.parametrize("ext", sorted(OPENABLE))
def test_pictures_pdf_text_and_office_documents_open(ext: str) -> None:
    assert may_open(f"statement.{ext}") and may_open(f"STATEMENT.{ext.upper()}")
    assert why_not_open(f"statement.{ext}") is None


def test_a_file_without_an_extension_is_only_saved() -> None:
    assert not may_open("README") and "without a known type" in (why_not_open("README") or "")


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../sync log.txt", "sync log.txt"),
        ("C:\\Users\\anna\\report.pdf", "report.pdf"),
        ("con.txt", "_con.txt"),
        ("LPT1", "_LPT1"),
        ("nul.tar.gz", "_nul.tar.gz"),
        ("line\r\nbreak.pdf", "line break.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("file.txt:hidden.exe", "file.txt_hidden.exe"),
        ('what? "this" <is>|*.docx', "what_ _this_ _is___.docx"),
        ("Cafe\u0301.png", "Café.png"),  # NFC
        ("report.pdf   ...", "report.pdf"),
    ],
)
def test_names_as_the_agent_sees_them(name: str, safe: str) -> None:
    assert safe_name(name) == safe


def test_a_long_name_is_cut_before_its_extension() -> None:
    safe = safe_name("ä" * 500 + ".xlsx")
    assert safe.endswith("ä.xlsx") and len(safe.encode()) <= MAX_NAME_BYTES


@given(st.text(max_size=200))
@example("multipart/mixed")
@example("text/plain\r\nX-Evil: 1")
def test_a_content_type_is_one_plain_type_or_octet_stream(content_type: str) -> None:
    safe = safe_content_type(content_type)
    assert re.fullmatch(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+", safe)
    assert not safe.startswith("multipart/")


def test_a_content_type_keeps_its_type_without_parameters() -> None:
    assert safe_content_type("Text/Plain; charset=utf-8") == "text/plain"
    assert safe_content_type("message/rfc822") == "message/rfc822"  # a forwarded mail
    assert safe_content_type("multipart/mixed; boundary=x") == "application/octet-stream"


# --- the administrator's list of types ----------------------------------------------------------------------------

LISTED = ("pdf", "png", "docx")
cased = (
    st.sampled_from([*LISTED, *DANGEROUS, "tar", "gz"])
    .flatmap(lambda ext: st.tuples(st.just(ext), st.lists(st.booleans(), min_size=len(ext), max_size=len(ext))))
    .map(lambda drawn: "".join(c.upper() if up else c for c, up in zip(drawn[0], drawn[1], strict=True)))
)
trailing = st.text(alphabet=" .\u200b\u202e", max_size=5)  # what Windows drops, and invisible characters
plain_stems = st.text(st.characters(blacklist_characters="./\\"), min_size=1, max_size=40).filter(
    lambda s: safe_name(s) == s.strip(" ") and s.strip(" ") and "." not in safe_name(s)
)


@given(junk, stems, st.lists(cased, max_size=2), cased, trailing)
@example("", "invoice", ["pdf"], "exe", "")  # a program behind a document's extension
@example("", "invoice", [], "exe", ". . .")  # Windows drops the dots: a program
@example("", "report", ["exe"], "PDF", "  ")
@example("../", "scan", [], "Pdf", ".")
def test_a_file_is_allowed_by_the_last_extension_of_its_stored_name_in_any_case(
    before: str, stem: str, inner: list[str], ext: str, after: str
) -> None:
    name = f"{before}{stem}{''.join(f'.{e}' for e in inner)}.{ext}{after}"
    allowed = ext.lower() in LISTED
    assert type_allowed(name, LISTED) == allowed
    assert type_allowed(name, ())  # nothing listed: any type
    problem = type_problem(name, LISTED)
    assert (problem is None) == allowed
    if problem is not None:  # says which file, under the name it would be stored as, and what is accepted
        assert problem == f"“{safe_name(name)}” cannot be attached: Desk accepts only these file types: pdf, png, docx."


@given(plain_stems, trailing)
@example("README", "")
@example("Makefile", ". .")
def test_a_name_without_an_extension_has_no_type_and_any_list_refuses_it(stem: str, after: str) -> None:
    name = stem + after
    assert extension(name) == ""
    assert not type_allowed(name, LISTED) and not type_allowed(name, ("",))
    assert type_allowed(name, ())


@pytest.mark.parametrize(
    ("text", "types"),
    [
        ("pdf, png, docx", ("pdf", "png", "docx")),
        (" .PDF;*.png  docx,,pdf ", ("pdf", "png", "docx")),  # dots, stars, case, separators, a repeat
        ("", ()),
        (" , ; ", ()),
    ],
)
def test_an_administrator_s_line_is_split_into_types(text: str, types: tuple[str, ...]) -> None:
    assert split_types(text) == types


@pytest.mark.parametrize("text", ["tar.gz", "exe.", "p<f", "a/b", "x" * 300, "", "p df"])
def test_what_no_stored_name_ends_in_is_not_a_type(text: str) -> None:
    assert not is_type(text)


@given(st.text(max_size=60))
@example("7z, tar.gz, c++, ÉPS, exe.")
def test_every_type_an_administrator_may_list_lets_its_files_in(text: str) -> None:
    for listed in split_types(text):
        if is_type(listed):
            assert type_allowed(f"report.{listed}", (listed,)) and type_allowed(f"a.b.{listed} .", (listed,))
            if listed.isascii():
                assert type_allowed(f"REPORT.{listed.upper()}", (listed,))
        assert split_types(listed) in ((listed,), ())  # split once, nothing more to split
