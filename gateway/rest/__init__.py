"""The merchant REST API, authenticated by API key (one business in one mode), and the token endpoints native apps
and scripts use: one module per resource, common.py for what every endpoint shares."""
