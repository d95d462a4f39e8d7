"""Guessing a text file's encoding from its first bytes: BOMs, UTF-8, UTF-16 without a BOM,
then the single-byte code page charset-normalizer finds most plausible."""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Code pages spreadsheets and old CRMs write; charset-normalizer picks among these only, so a
# Western file is never read as some exotic one.
SINGLE_BYTE = [
    "cp1252",
    "cp1250",
    "cp1251",
    "cp1253",
    "cp1254",
    "cp1257",
    "iso8859_15",
    "iso8859_2",
    "koi8_r",
    "mac_roman",
    "cp850",
    "cp437",
]
# cp1252 is latin-1 with printable characters (€, curly quotes) where latin-1 has controls.
_PREFERRED = {"latin_1": "cp1252", "iso8859_1": "cp1252", "ascii": "utf-8-sig"}


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 text of mostly ASCII characters has a NUL in every other byte."""
    pairs = sample[: len(sample) // 2 * 2]
    if len(pairs) < 4:
        return None
    even, odd = pairs[0::2], pairs[1::2]
    if odd.count(0) > 0.7 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.7 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def is_valid_utf8_head(sample: bytes) -> bool:
    """True if the bytes are UTF-8, a character cut at the end of the sample aside."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(sample: bytes) -> str:
    """The Python codec name to read the file with."""
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding
    utf16 = _utf16_without_bom(sample)
    if utf16 is not None:
        return utf16
    if is_valid_utf8_head(sample):
        return "utf-8-sig"
    return _PREFERRED.get(encoding := _likeliest_code_page(sample), encoding)


def _likeliest_code_page(sample: bytes) -> str:
    """The code page reading the sample with the least chaos and most coherence; among equally
    plausible ones, the earliest in SINGLE_BYTE (Windows-1252 first: most files are Western)."""
    matches = list(from_bytes(sample, cp_isolation=SINGLE_BYTE))
    if not matches:
        return "cp1252"
    best = min((m.chaos, -m.coherence) for m in matches)
    tied = {m.encoding for m in matches if (m.chaos, -m.coherence) == best}
    winner = next((cp for cp in SINGLE_BYTE if cp in tied), sorted(tied)[0])
    # charset-normalizer reports one of several code pages reading the sample alike (é, ö, ü
    # are the same bytes in cp1250 and cp1252): the earliest of them wins.
    text = sample.decode(winner, errors="replace")
    return next((cp for cp in SINGLE_BYTE if sample.decode(cp, errors="replace") == text), winner)


def check_encoding(name: str) -> str | None:
    """The codec's canonical name, or None if Python has no such codec."""
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        return None
