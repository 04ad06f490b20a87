"""Who may see what: sign-in and magic links, portal sessions, the Viewer scope, rate limits."""
