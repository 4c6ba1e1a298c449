"""One module per `alchemiser` subcommand, imported only when that command runs."""
