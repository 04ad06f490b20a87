"""What happens to a customer's money: subscriptions, payments, invoices, license keys, and how they are shown."""
