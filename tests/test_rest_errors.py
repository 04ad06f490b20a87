"""The REST API's one documented set of error codes: the README's table is the code's, status for status."""

import re
from pathlib import Path

from gateway.rest.errors import REST_CODES, status_of


def documented() -> dict[str, int]:
    text = Path(__file__).parent.parent.joinpath("README.md").read_text()
    table = text.split("### Errors", 1)[1].split("\n\n", 3)[2]
    return {
        code: int(row.split("|")[1])
        for row in table.splitlines()
        if re.match(r"\| \d{3} \|", row)
        for code in re.findall(r"`([A-Z_]+)`", row.split("|")[3])
    }


def test_the_readme_lists_every_code_with_the_status_it_answers():
    answered = {code.value: status_of(code.value) for codes in REST_CODES for code in codes}

    assert documented() == answered
