"""Registration questions of a meeting (the organisers' pages) and the answers people give when registering."""
