"""The host rotation: ``engine`` (pure: plain values in, a plan out), ``services`` (history, pins and
exclusions from the database), ``views`` (``/rotation``), ``api`` (``/api/v1/rotation/plan``), ``forms``."""
