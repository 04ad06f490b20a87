"""Writes the committed SDL files from the code: `python -m schema.export_sdl`."""

from pathlib import Path

from schema.customer import schema as customer_schema
from schema.merchant import schema as merchant_schema

SDL_FILES = {
    Path(__file__).with_name("customer.graphql"): customer_schema,
    Path(__file__).with_name("merchant.graphql"): merchant_schema,
}


def sdl_of(schema: object) -> str:
    return str(schema).rstrip() + "\n"


def main() -> None:
    for path, schema in SDL_FILES.items():
        path.write_text(sdl_of(schema))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
