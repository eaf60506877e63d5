"""spark-submit entry point for `a100m serve`: same arguments, same exit codes."""

import sys

from pipelines.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
