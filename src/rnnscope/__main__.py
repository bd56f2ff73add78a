"""`python -m rnnscope`."""

import sys

from rnnscope.cli import main

sys.exit(main())
