import sys

from .runner import run

sys.exit(run())
