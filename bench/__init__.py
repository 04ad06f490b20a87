"""The load benchmark of the dashboard query: seeding a big PostgreSQL database (seed.py, dataset.py), the servers
under test (apps.py, raw_endpoint.py) and the load run (run.py). Not part of the test suite or CI."""
