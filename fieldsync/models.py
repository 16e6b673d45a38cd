"""Models of the fieldsync app."""
