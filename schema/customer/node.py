"""The Node interface: every customer-facing object has a globally unique, prefixed id (`sub_…`, `inv_…`)."""

import strawberry


@strawberry.interface(description="An object with a globally unique id; fetch any of them with `node(id:)`.")
class Node:
    id: strawberry.ID
