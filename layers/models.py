"""Models of the layers app."""
