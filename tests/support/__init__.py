"""What many test modules share: the `portal` command run in this process (`cli`), databases copied from templates
made once per run (`databases`), and the demo data seeded once and restored per test (`demo`). tests/conftest.py
loads `databases` and `demo` as plugins, for their fixtures."""
