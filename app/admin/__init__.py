"""Administration: verifying akimat claims, granting roles, deactivating accounts, the audit log."""
