"""The committed SDL files are what the code serves; a change to a schema must come with its SDL."""

import pytest

from schema.export_sdl import SDL_FILES, sdl_of


@pytest.mark.parametrize("path", sorted(SDL_FILES), ids=lambda path: path.name)
def test_committed_sdl_matches_the_code(path):
    assert path.read_text() == sdl_of(SDL_FILES[path]), f"{path.name} drifted: run `python -m schema.export_sdl`"
