import sys

from dataset.cli import main

sys.exit(main())
