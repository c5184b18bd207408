"""`python -m vasms_client` runs `vasms-watch`."""

import sys

from vasms_client.cli import main

sys.exit(main())
