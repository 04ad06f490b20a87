"""GraphQL: the customer schema and the merchant schema, their dataloaders, limits and error types."""
