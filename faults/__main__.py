"""``python -m faults``: see :mod:`faults.cli`."""

from faults.cli import main

raise SystemExit(main())
