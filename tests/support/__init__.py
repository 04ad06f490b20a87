"""What many test modules share, one concept a module: the `portal` command run in this process (`cli`), databases
copied from templates made once per run (`databases`), the demo data seeded once and restored per test (`demo`),
builders of a customer's history and sessions (`factories`), an issued invoice (`invoices`), asking the customer
schema (`customer_graphql`), the pages' client and page helpers (`pages`), a real SMTP mailbox, test settings, a
small shop and the steps of a sign-in (`portal`), the sandbox billing context and a subscriber with cards
(`billing`), a paid sale (`sales`), a business with API keys and one merchant GraphQL call (`merchant`), a shop with
a key in one mode and a recurring product (`shop`), a webhook receiver (`webhooks`), the served demo portal and
chromium of the browser tests (`browser`), plan-change shops (`plans`), licensed products (`licenses`), billing-email
details (`emails`), the Stripe emulator (`localstripe`) and shops connected to it (`stripe`). tests/conftest.py loads
the modules with fixtures as plugins.
"""
