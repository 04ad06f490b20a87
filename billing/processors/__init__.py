"""Payment processors: the protocol every processor implements (`protocol`) and the built-in sandbox that follows
Stripe's test cards and tokens (`sandbox`)."""
