"""The fonts of the billing PDFs: the bundled Noto faces (billing/fonts, SIL Open Font License, see OFL.txt), which
one a document's language starts from, and which others its text needs for per-glyph fallback.

A face is loaded only when the document's text has a character that no face before it covers: an English invoice
embeds Noto Sans alone, one with a Japanese name adds the CJK face, an Arabic address adds Noto Sans Arabic. Loading
is what costs (the 16 MB CJK face takes about a tenth of a second to load and as much again to subset), and fpdf2
cannot reuse a loaded face for a second document: writing a PDF subsets the face in place. What is cached across
documents is only what never changes, the characters each face covers.

Text is shaped with HarfBuzz (uharfbuzz), so Arabic letters join and right-to-left runs are laid out in order; fpdf2
splits each line by script and falls back, glyph by glyph, to the next loaded face that has the character.
"""

import functools
import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTFont
from fpdf import FPDF

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


def install_fonts(pdf: FPDF, locale: str, text: Iterable[str]) -> Face:
    """Load the faces `text` needs into `pdf`, with fallback between them and text shaping; returns the main face,
    which the caller sets text in."""
    faces = faces_for(locale, text)
    for face in faces:
        for style, file_name in face.styles:
            pdf.add_font(face.family, style, FONT_DIR / file_name)
    # exact_match=False: bold text falls back to a regular cut when its face has no bold one (CJK).
    pdf.set_fallback_fonts([face.family for face in faces[1:]], exact_match=False)
    pdf.set_text_shaping(True)
    return faces[0]


def warm() -> None:
    """Do once, in a process that will render many documents, what every document would otherwise pay for first."""
    for face in FACES:
        coverage(face)
