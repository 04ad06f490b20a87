"""The foundation below every domain, with no business rule: the customer's language and its catalogs, money
formatting, the clock, input limits and checks, token hashing, the email outbox and event types. `core` imports only
`models`."""
