"""The `alchemiser` command and the local runtime (never shipped in a Lambda bundle)."""
