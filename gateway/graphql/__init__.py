"""The GraphQL endpoints over HTTP: http.py for what the customer and merchant endpoints share (the
GraphQL-over-HTTP spec's status codes and errors), customer.py for the customer schema at `/graphql`."""
