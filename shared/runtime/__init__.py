"""What every function needs besides events: settings, clock, observability, embedded stores."""
