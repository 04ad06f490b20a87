"""A business's colours on the portal (gateway/templating.py's Palette): the brand colour stays for fills, text on a
fill is readable, and an accent too light to read as a link on the portal's light backgrounds is darkened, in its
own hue, until it is (WCAG 2.2 AA: 4.5:1 for text, 3:1 for a control's border)."""

import colorsys

from hypothesis import given
from hypothesis import strategies as st

from gateway.brand_colors import PAGE_BACKGROUND, brand_palette, contrast_ratio

WHITE = "#ffffff"
colors = st.integers(min_value=0, max_value=0xFFFFFF).map(lambda value: f"#{value:06x}")


def hue(color: str) -> float:
    return colorsys.rgb_to_hls(*(int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)))[0]


def test_an_accent_too_light_to_read_gets_a_darker_variant_of_its_own_hue_for_text():
    amber = "#f59e0b"  # Northwind Analytics' accent: 2.0:1 on the page background
    palette = brand_palette("#0b3d91", amber)

    assert contrast_ratio(amber, PAGE_BACKGROUND) < 4.5
    assert palette.accent == amber  # fills keep the brand colour
    for background in (PAGE_BACKGROUND, WHITE):
        assert contrast_ratio(palette.accent_text, background) >= 4.5
        assert contrast_ratio(palette.accent_border, background) >= 3
    assert abs(hue(palette.accent_text) - hue(amber)) < 0.01
    # The nearest readable variant, not black: 4.5:1 reached, by little.
    assert contrast_ratio(palette.accent_text, PAGE_BACKGROUND) < 5


def test_an_accent_that_reads_already_is_used_as_it_is():
    teal = "#0f766e"  # Sakura Fonts' accent: 5:1 on the page background
    palette = brand_palette("#be185d", teal)

    assert (palette.accent_text, palette.accent_border) == (teal, teal)


@given(colors, colors)
def test_every_colour_a_business_picks_gives_readable_text(primary: str, accent: str):
    palette = brand_palette(primary, accent)

    assert contrast_ratio(palette.on_primary, primary) >= 4.5
    assert contrast_ratio(palette.on_primary, palette.primary_shade) >= 4.5  # across the sign-in page's gradient
    assert contrast_ratio(palette.on_accent, accent) >= 4.5
    assert contrast_ratio(palette.primary_text, WHITE) >= 4.5  # an email's links
    assert contrast_ratio(palette.accent_text, PAGE_BACKGROUND) >= 4.5
    assert contrast_ratio(palette.accent_border, PAGE_BACKGROUND) >= 3
