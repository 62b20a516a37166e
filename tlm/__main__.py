"""``python -m tlm``: the same entry point as the ``h2learn`` command."""

import sys

from tlm.app.cli import main

if __name__ == "__main__":  # importing the module (e.g. a package walk) must not run the CLI
    sys.exit(main())
