"""`python -m fedcluster` runs the command line."""

from fedcluster.cli.app import main

main()
