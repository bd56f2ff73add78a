"""`python -m rnnscope.cli`."""

import sys

from rnnscope.cli import main

sys.exit(main())
