"""What a business owns and configures: branding, portal configurations, catalog, API keys, webhook endpoints."""
