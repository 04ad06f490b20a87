"""Adding a business to the unified portal (`POST /businesses/{business_id}/add`), from the "Add" buttons the unified
home shows for the businesses that have a record of the customer's email not yet added. The rule is the customer
schema's `addBusiness`, so a business without a record of the email answers like one that does not exist (404)."""

from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import BaseRoute

from gateway.pages.signed_in import Visit, back_to_page, redirect, route, signed_in_form
from gateway.settings import Settings

ADD = """
mutation Add($businessId: ID!) { addBusiness(input: {businessId: $businessId}) { business { id } errors { code } } }
"""


@signed_in_form
async def add_business(visit: Visit, form: FormData) -> Response:
    answer = (await visit.run(ADD, businessId=visit.request.path_params["business_id"]))["addBusiness"]
    return redirect("/") if answer["business"] else visit.not_found()


def routes(settings: Settings) -> list[BaseRoute]:
    return [
        route("/businesses/{business_id}/add", add_business, settings, "POST"),
        route("/businesses/{business_id}/add", back_to_page(lambda _: "/", "business_id"), settings),
    ]
