"""``python -m gui``: the same as the ``netdesk`` command."""

import sys

from gui.main import main

sys.exit(main())
