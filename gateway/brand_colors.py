"""A business's brand colours as the pages and emails wear them: the colours themselves on fills, readable text on
each fill, and the accent made readable where it is text or a state's border (WCAG 2.2 AA), keeping its hue.
Colours are checked to be `#rrggbb` before they end up inside CSS."""

import colorsys
import functools
import re
from dataclasses import dataclass

_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_PRIMARY = "#1f2937"
DEFAULT_ACCENT = "#2563eb"
# portal.css's --bg: the darkest of the light backgrounds brand-coloured text sits on (panels are white).
PAGE_BACKGROUND = "#f4f5f7"
# WCAG 2.2 AA: 4.5:1 for text, 3:1 for the borders and outlines that show a control's state.
TEXT_CONTRAST = 4.5
UI_CONTRAST = 3.0
_WHITE, _NEAR_BLACK, _BLACK = "#ffffff", "#111827", "#000000"


@dataclass(frozen=True)
class Palette:
    """A business's colours, checked to be `#rrggbb` (they end up inside CSS): the brand colours themselves for fills,
    readable text on each fill, and the accent made safe where it is text (links) or a state's border on the
    portal's light backgrounds."""

    primary: str
    accent: str
    on_primary: str
    on_accent: str
    # The far end of the sign-in page's gradient: the primary with a third of the colour its text is not mixed in,
    # so the text only gains contrast across it.
    primary_shade: str
    accent_text: str
    # The primary where it is a link on an email's white card.
    primary_text: str
    accent_border: str


def _rgb(color: str) -> tuple[float, float, float]:
    """`#rrggbb` as red, green and blue from 0 to 1."""
    red, green, blue = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return red, green, blue


def _hex(red: float, green: float, blue: float) -> str:
    return "#" + "".join(f"{round(value * 255):02x}" for value in (red, green, blue))


def _mix(color: str, other: str, share: float) -> str:
    """`color` with `share` of `other` mixed in, channel by channel (CSS's `color-mix(in srgb, …)`)."""
    return _hex(*(mine + (theirs - mine) * share for mine, theirs in zip(_rgb(color), _rgb(other), strict=True)))


def _relative_luminance(color: str) -> float:
    """WCAG relative luminance of `#rrggbb`."""

    def linear(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(value) for value in _rgb(color))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two `#rrggbb` colours, from 1 (the same) to 21 (black on white)."""
    lighter, darker = sorted((_relative_luminance(first), _relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _readable_text_on(fill: str) -> str:
    """White or the portal's near-black, whichever reads on `fill`; pure black on the mid-tones where neither does
    (wherever white falls short of 4.5:1, black reaches it)."""
    return next((text for text in (_WHITE, _NEAR_BLACK) if contrast_ratio(text, fill) >= TEXT_CONTRAST), _BLACK)


def readable_variant(color: str, background: str, minimum: float) -> str:
    """`color` if it has `minimum` contrast against `background`; else the same hue and saturation made darker (or,
    on a dark background, lighter) step by step until it does: the nearest variant of the brand that can be read."""
    if contrast_ratio(color, background) >= minimum:
        return color
    darken = contrast_ratio(_BLACK, background) >= contrast_ratio(_WHITE, background)
    hue, lightness, saturation = colorsys.rgb_to_hls(*_rgb(color))
    while 0 < lightness < 1:
        lightness = max(0.0, lightness - 0.01) if darken else min(1.0, lightness + 0.01)
        variant = _hex(*colorsys.hls_to_rgb(hue, lightness, saturation))
        if contrast_ratio(variant, background) >= minimum:
            return variant
    return _BLACK if darken else _WHITE


@functools.cache
def brand_palette(primary: str | None, accent: str | None) -> Palette:
    primary = primary if primary and _HEX_COLOR.match(primary) else DEFAULT_PRIMARY
    accent = accent if accent and _HEX_COLOR.match(accent) else DEFAULT_ACCENT
    on_primary = _readable_text_on(primary)
    return Palette(
        primary=primary,
        accent=accent,
        on_primary=on_primary,
        on_accent=_readable_text_on(accent),
        primary_shade=_mix(primary, _BLACK if on_primary == _WHITE else _WHITE, 0.3),
        accent_text=readable_variant(accent, PAGE_BACKGROUND, TEXT_CONTRAST),
        primary_text=readable_variant(primary, _WHITE, TEXT_CONTRAST),
        accent_border=readable_variant(accent, PAGE_BACKGROUND, UI_CONTRAST),
    )
