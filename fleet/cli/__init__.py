"""The ``fleet`` command: thin typer sub-apps, one module per noun."""
