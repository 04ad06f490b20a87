"""What many test modules share, one concept a module: the `portal` command run in this process (`cli`), databases
copied from templates made once per run (`databases`), the demo data seeded once and restored per test (`demo`),
asking the customer schema (`customer_graphql`), the pages' client and page helpers (`pages`), a paid sale
(`sales`) and a webhook receiver (`webhooks`). tests/conftest.py loads the modules with fixtures as plugins."""
