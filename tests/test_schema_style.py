"""Both GraphQL schemas speak one dialect: every mutation takes a single `input:` object and answers a payload that
carries `errors: [UserError!]!` next to what it changed."""

import pytest
from graphql import GraphQLInputObjectType, GraphQLList, GraphQLNonNull, GraphQLObjectType

from schema.customer import schema as customer_schema
from schema.merchant import schema as merchant_schema

SCHEMAS = {"customer": customer_schema, "merchant": merchant_schema}


def mutations(name: str) -> dict:
    return SCHEMAS[name]._schema.mutation_type.fields


def is_user_error_list(field_type: object) -> bool:
    """`[UserError!]!`, exactly."""
    if not isinstance(field_type, GraphQLNonNull) or not isinstance(field_type.of_type, GraphQLList):
        return False
    item = field_type.of_type.of_type
    return isinstance(item, GraphQLNonNull) and item.of_type.name == "UserError"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_mutation_takes_one_input_object(name):
    odd = {}
    for field_name, field in mutations(name).items():
        argument = field.args.get("input")
        required_object = (
            argument is not None
            and isinstance(argument.type, GraphQLNonNull)
            and isinstance(argument.type.of_type, GraphQLInputObjectType)
        )
        if list(field.args) != ["input"] or not required_object:
            odd[field_name] = sorted(field.args)
    assert odd == {}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_mutation_answers_a_payload_with_errors(name):
    odd = []
    for field_name, field in mutations(name).items():
        payload = field.type.of_type if isinstance(field.type, GraphQLNonNull) else None
        errors = payload.fields.get("errors") if isinstance(payload, GraphQLObjectType) else None
        if errors is None or not is_user_error_list(errors.type):
            odd.append(field_name)
    assert odd == []


def test_the_merchant_schema_names_shared_operations_as_the_customer_schema_does():
    shared = {"cancelSubscription", "resumeSubscription", "changePlan"}
    assert shared <= set(mutations("merchant")) & set(mutations("customer"))
    assert "changeSubscriptionPlan" not in mutations("merchant")
    assert "planChangePreview" in merchant_schema._schema.query_type.fields


def test_the_merchant_schema_has_one_payment_type():
    types = merchant_schema._schema.type_map
    assert "SubscriptionPayment" not in types
    assert types["PaymentPayload"].fields["payment"].type.name == "Payment"
    assert types["Payment"].fields["status"].type.of_type.name == "PaymentStatus"
