"""`python -m gateway.cli`: the `portal` command without its console script (tests and the Dockerfile-less dev loop)."""

import sys

from gateway.cli import main

sys.exit(main())
