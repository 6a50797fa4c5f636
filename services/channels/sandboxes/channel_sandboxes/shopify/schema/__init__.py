"""The slice of Shopify's GraphQL Admin schema that connectors use, with an executor and cost model.

Why a schema and not canned JSON: answers must contain exactly the selected fields (aliases
included), an unknown field must be a validation error before any mutation runs, and Shopify's
calculated query cost depends on the selection (objects cost 1, connections 2 + first * child cost,
mutations 10). Layout: context (errors, execution context), paging (search syntax, connections),
one module per area (shop, nodes, products, inventory, inventory_mutations, orders, order_cancel,
fulfillments, webhooks) with its types and resolvers, registry (the merged schema), cost (validation and requested
cost), executor, scopes (access scopes per root field).
"""

from channel_sandboxes.shopify.schema.context import ExecContext, GraphQLError, Typed
from channel_sandboxes.shopify.schema.cost import validate_and_cost
from channel_sandboxes.shopify.schema.executor import execute
from channel_sandboxes.shopify.schema.paging import paginate, search_matches
from channel_sandboxes.shopify.schema.registry import RESOLVERS, TYPES
from channel_sandboxes.shopify.schema.scopes import REQUIRED_SCOPES, check_scopes
from channel_sandboxes.shopify.schema.webhooks import TOPIC_ENUMS, WEBHOOK_TOPICS

__all__ = [
    "REQUIRED_SCOPES",
    "RESOLVERS",
    "TOPIC_ENUMS",
    "TYPES",
    "WEBHOOK_TOPICS",
    "ExecContext",
    "GraphQLError",
    "Typed",
    "check_scopes",
    "execute",
    "paginate",
    "search_matches",
    "validate_and_cost",
]
