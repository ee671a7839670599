"""The `fedcluster` command line: thin typer commands that call the layers below."""
