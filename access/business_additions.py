"""Adding a business to the unified portal: which businesses keep a record of the signed-in email that its owner
has not proven, and proving one.

Any business can make a record with any address, so a record joins its owner's unified portal (access.viewer: the
verified records of the session's email) only once the address is proven for that record: a sign-in through that
business's portal (access.login_links, access.email_codes), or here, when the holder of a UNIFIED session, who
proved the inbox by signing in, adds the business by name. A unified sign-in alone verifies nothing. A BUSINESS
session adds nothing and lists nothing: its merchant may hold it (a minted token, a magic link it opened). A business
without a record of the email in the session's mode answers exactly like one that does not exist.
"""

from tortoise.expressions import Subquery

from access.viewer import Viewer, customers_in_scope
from models import Business, Customer
from models.enums import Scope
from models.ids import id_prefix, is_well_formed_id


async def businesses_to_add(viewer: Viewer) -> list[Business]:
    """The businesses with a record of the viewer's email, in its mode, that is not proven yet; by name."""
    if viewer.scope != Scope.UNIFIED:
        return []
    unproven = Customer.filter(email=viewer.email, livemode=viewer.livemode, email_verified=False)
    businesses = await Business.filter(id__in=Subquery(unproven.values("business_id")))
    return sorted(businesses, key=lambda business: (business.name.lower(), business.id))


async def add_business(viewer: Viewer, business_id: str) -> Viewer | None:
    """Verify the business's records of the viewer's email and return the viewer that sees them (adding again
    changes nothing); None when there is no such record in the viewer's mode, or outside UNIFIED scope."""
    if viewer.scope != Scope.UNIFIED or not is_well_formed_id(business_id, id_prefix(Business)):
        return None
    records = Customer.filter(email=viewer.email, livemode=viewer.livemode, business_id=business_id)
    if not await records.exists():
        return None
    await records.filter(email_verified=False).update(email_verified=True)
    return Viewer(session=viewer.session, customers=await customers_in_scope(viewer.session))
