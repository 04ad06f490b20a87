"""The merchant schema's answers for expected failures: a domain BillingError as a UserError (its English message
with its parameters filled in), and the one not-found answer for any id outside the API key's business and mode."""

from billing.errors import BillingError
from schema.errors import UserError

NOT_FOUND_MESSAGE = "There is nothing with that id here."


def from_billing_error(error: BillingError) -> UserError:
    return UserError(code=str(error.code), field=error.field, message=error.message % error.params)


def not_found(field: str) -> UserError:
    """Missing, malformed, another business's or the other mode's: the same answer."""
    return UserError(code="NOT_FOUND", field=field, message=NOT_FOUND_MESSAGE)
