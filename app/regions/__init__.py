"""Kazakhstan's first-level regions, their districts and cities, and their akimats."""
