"""Authentication: accounts, password policy, login and registration."""
