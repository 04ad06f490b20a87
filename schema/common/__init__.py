"""What the customer and the merchant schemas share: the UserError shape, connections and paging, and the query
limits."""
