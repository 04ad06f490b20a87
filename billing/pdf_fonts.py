"""The fonts of the billing PDFs: the bundled Noto faces (billing/fonts, SIL Open Font License, see OFL.txt), which
one a document's language starts from, and which others its text needs for per-glyph fallback.

A face is embedded only when the document's text has a character that no face before it covers: an English invoice
embeds Noto Sans alone, one with a Japanese name adds the CJK face, an Arabic address adds Noto Sans Arabic.

Parsing a face and subsetting it is what costs (for the 16 MB CJK face, half a second a document), so each process
parses a face once and keeps it (`_parsed`: fpdf2's TTFFont, its metrics and its HarfBuzz shaping face, and a
HarfBuzz subset plan source). A document gets a copy sharing all of that, with its own record of the glyphs it uses
(`add_font`); before the PDF is written, each face is cut down to those glyphs by HarfBuzz's subsetter, in C
(`reduce_fonts`), so fpdf2's own subsetting, which edits the face in place, works on that small copy and never on
the shared face.

Text is shaped with HarfBuzz (uharfbuzz), so Arabic letters join and right-to-left runs are laid out in order; fpdf2
splits each line by script and falls back, glyph by glyph, to the next loaded face that has the character.
"""

import copy
import functools
import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import uharfbuzz
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import TextEmphasis
from fpdf.fonts import SubsetMap, TTFFont

FONT_DIR = Path(__file__).parent / "fonts"
LOGGER = logging.getLogger(__name__)
# Characters that are never drawn: controls, and format characters such as the right-to-left mark Babel puts in
# Arabic amounts (HarfBuzz makes those invisible whatever the font).
_NOT_DRAWN = {"Cc", "Cf", "Zl", "Zp"}


@dataclass(frozen=True)
class Face:
    family: str
    regular: str
    bold: str | None
    languages: tuple[str, ...] = ()

    @property
    def styles(self) -> tuple[tuple[str, str], ...]:
        """(style, file name) pairs; a face without a bold cut draws bold text with its regular."""
        return (("", self.regular),) + ((("B", self.bold),) if self.bold else ())


# In fallback order: where faces overlap (CJK also draws Latin, Cyrillic and Greek), the earlier one wins.
FACES = (
    Face("NotoSans", "NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
    Face("NotoSansCJK", "NotoSansCJKjp-Regular.otf", None, ("ja", "zh", "ko")),
    Face("NotoSansArabic", "NotoSansArabic-Regular.ttf", "NotoSansArabic-Bold.ttf", ("ar", "fa", "ur")),
    Face("NotoSansHebrew", "NotoSansHebrew-Regular.ttf", "NotoSansHebrew-Bold.ttf", ("he", "yi")),
    Face("NotoSansThai", "NotoSansThai-Regular.ttf", "NotoSansThai-Bold.ttf", ("th",)),
    Face("NotoSansDevanagari", "NotoSansDevanagari-Regular.ttf", "NotoSansDevanagari-Bold.ttf", ("hi", "mr", "ne")),
)


def main_face(locale: str) -> Face:
    """The face a language's documents are set in: its script's, else Noto Sans (Latin, Greek, Cyrillic)."""
    language = locale.replace("-", "_").split("_")[0].lower()
    return next((face for face in FACES if language in face.languages), FACES[0])


@functools.cache
def coverage(face: Face) -> frozenset[int]:
    """The code points a face draws (its regular's cmap; the bold cuts cover the same)."""
    with TTFont(FONT_DIR / face.regular, lazy=True) as font:
        return frozenset(font.getBestCmap())


def drawn(text: Iterable[str]) -> set[int]:
    """The code points of `text` that need a glyph."""
    return {ord(char) for part in text for char in part if unicodedata.category(char) not in _NOT_DRAWN}


def faces_for(locale: str, text: Iterable[str]) -> list[Face]:
    """The main face of `locale`, then each face that draws a character of `text` no face before it draws."""
    main = main_face(locale)
    missing = drawn(text) - coverage(main)
    chosen = [main]
    for face in FACES:
        if face != main and missing & coverage(face):
            chosen.append(face)
            missing -= coverage(face)
    if missing:
        # Such characters would silently vanish from the PDF (HarfBuzz gives them no glyph): say so.
        LOGGER.warning("No bundled font draws %s", ", ".join(f"U+{code:04X}" for code in sorted(missing)))
    return chosen


@dataclass(frozen=True)
class _Parsed:
    font: TTFFont
    # The face prepared for repeated subsetting (hb_subset_preprocess).
    source: uharfbuzz.Face


@functools.cache
def _parsed(file_name: str) -> _Parsed:
    """A font file parsed once per process: fpdf2's face (built for a throwaway document) with its shaping face."""
    path = FONT_DIR / file_name
    font = TTFFont(FPDF(), path, fontkey="", style="")
    font.hbfont  # noqa: B018 -- parsed now, shared by every document
    return _Parsed(font, uharfbuzz.subset_preprocess(uharfbuzz.Face(uharfbuzz.Blob.from_file_path(path))))


def add_font(pdf: FPDF, family: str, style: str, file_name: str) -> None:
    """What `pdf.add_font` does, from the process's parsed face: the document's copy shares the face, its metrics and
    its shaping face, and has its own record of the glyphs it draws."""
    font = copy.copy(_parsed(file_name).font)
    font.i = len(pdf.fonts) + 1
    font.fontkey = f"{family.lower()}{style}"
    font.emphasis = TextEmphasis.coerce(style)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.subset = SubsetMap(font)
    pdf.fonts[font.fontkey] = font
    if font.is_cff and font.is_cid_keyed:
        pdf._set_min_pdf_version("1.6")  # as fpdf2's add_font: CID-keyed CFF (the CJK face) needs PDF 1.6


def reduce_fonts(pdf: FPDF) -> None:
    """Give each face of `pdf` a small copy holding only the glyphs the document draws, for fpdf2 to embed; call just
    before writing the PDF. Glyph names (and the CJK face's CIDs) stay those of the full face, which is how fpdf2
    finds the glyphs again."""
    for font in pdf.fonts.values():
        if not isinstance(font, TTFFont):  # the core fonts are built in
            continue
        wanted = uharfbuzz.SubsetInput()
        wanted.glyph_set.update({0} | {glyph.glyph_id for glyph, _ in font.subset.items() if glyph is not None})
        wanted.flags = uharfbuzz.SubsetFlags.GLYPH_NAMES | uharfbuzz.SubsetFlags.NO_HINTING
        reduced = uharfbuzz.subset(_parsed(font.ttffile.name).source, wanted)
        font.ttfont = TTFont(BytesIO(reduced.blob.data), recalcTimestamp=False, lazy=True)


def forget_glyphs() -> None:
    """Drop fpdf2's caches of glyph look-ups (functools caches on SubsetMap's methods, which keep every document's
    fonts alive); call once a document is written, in a process that renders many."""
    SubsetMap.pick.cache_clear()
    SubsetMap.get_glyph.cache_clear()


def install_fonts(pdf: FPDF, locale: str, text: Iterable[str]) -> Face:
    """Load the faces `text` needs into `pdf`, with fallback between them and text shaping; returns the main face,
    which the caller sets text in."""
    faces = faces_for(locale, text)
    for face in faces:
        for style, file_name in face.styles:
            add_font(pdf, face.family, style, file_name)
    # exact_match=False: bold text falls back to a regular cut when its face has no bold one (CJK).
    pdf.set_fallback_fonts([face.family for face in faces[1:]], exact_match=False)
    pdf.set_text_shaping(True)
    return faces[0]


def warm() -> None:
    """Do once, in a process that will render many documents, what the first documents would otherwise pay for."""
    for face in FACES:
        coverage(face)
        for _, file_name in face.styles:
            _parsed(file_name)
