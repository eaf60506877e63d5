"""spark-submit entry point for `a100m select`: same arguments, same exit codes."""

import sys

from pipelines.cli import main

if __name__ == "__main__":
    sys.exit(main(["select", *sys.argv[1:]]))
