"""The error type both GraphQL schemas share: a mutation's expected failures are data in `errors: [UserError!]!`,
never exceptions."""

import strawberry


@strawberry.type(description="An expected failure of a mutation, such as an unknown id or a malformed input.")
class UserError:
    code: str = strawberry.field(description="A stable, machine-readable code such as CUSTOMER_NOT_FOUND.")
    field: str | None = strawberry.field(description="The argument to blame, when a single one is.")
    message: str = strawberry.field(description="A sentence for the developer reading the response.")
