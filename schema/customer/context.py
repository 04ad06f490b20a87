"""The per-request context of the customer schema: the Viewer, the reader's locale, the request's id (for the log
line of an unexpected error) and fresh dataloaders."""

from dataclasses import dataclass, field

from access.viewer import Viewer
from billing.context import BillingContext
from schema.common.limits import PublicError
from schema.customer.loaders import CustomerLoaders


class NotSignedIn(PublicError):
    def __init__(self) -> None:
        super().__init__(
            "Sign in first: send `Authorization: Bearer <portal session token>` or the portal_session cookie.",
            extensions={"code": "UNAUTHENTICATED"},
        )


@dataclass
class CustomerContext:
    viewer: Viewer | None
    locale: str
    request_id: str
    billing: BillingContext | None = None
    loaders: CustomerLoaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = CustomerLoaders(self.viewer)

    def signed_in_viewer(self) -> Viewer:
        if self.viewer is None:
            raise NotSignedIn()
        return self.viewer

    def widen(self, viewer: Viewer) -> None:
        """See as `viewer` for the rest of the request, after a mutation added records to the scope."""
        self.viewer = viewer
        self.loaders = CustomerLoaders(viewer)


def build_context(
    viewer: Viewer | None, locale: str, request_id: str, billing: BillingContext | None = None
) -> CustomerContext:
    """A context for one request; dataloaders must never outlive it (they cache what this viewer may see).
    `billing` is what mutations that move money need; reads do without it."""
    return CustomerContext(viewer=viewer, locale=locale, request_id=request_id, billing=billing)
