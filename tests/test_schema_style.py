"""Both GraphQL schemas speak one dialect: every mutation takes a single `input:` object and answers a payload that
carries `errors: [UserError!]!` next to what it changed, whose codes are the domains' own, as one GraphQL enum."""

import importlib
import pkgutil
from enum import StrEnum
from pathlib import Path

import pytest
from graphql import GraphQLInputObjectType, GraphQLList, GraphQLNonNull, GraphQLObjectType

import access
import billing
import core
import merchants
from schema.common.errors import DOMAIN_CODES
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


def domain_code_enums() -> set[type[StrEnum]]:
    """Every `…ErrorCode` enum the domain packages define, found by importing each of their modules."""
    found = set()
    for package in (core, access, billing, merchants):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            for value in vars(importlib.import_module(module.name)).values():
                if isinstance(value, type) and issubclass(value, StrEnum) and value.__name__.endswith("ErrorCode"):
                    found.add(value)
    return found


def test_every_domains_error_codes_are_a_graphql_enum_in_both_schemas():
    declared = set(customer_schema._schema.type_map["ErrorCode"].values)

    assert domain_code_enums() == set(DOMAIN_CODES)
    assert declared == {code.value for codes in DOMAIN_CODES for code in codes}
    for schema in SCHEMAS.values():
        assert str(schema._schema.type_map["UserError"].fields["code"].type) == "ErrorCode!"


def test_only_the_mapper_builds_user_errors():
    builders = [
        str(path)
        for path in Path("schema").rglob("*.py")
        if "UserError(" in path.read_text() and path != Path("schema/common/errors.py")
    ]
    assert builders == []
