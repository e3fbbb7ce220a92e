"""Exchange meetings and the host rotation."""
