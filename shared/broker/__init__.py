"""The broker port: what every venue (shared/venues/) implements."""
