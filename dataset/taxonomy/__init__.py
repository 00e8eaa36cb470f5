"""The house taxonomy (``house.yaml``) and the task specs every later stage reads."""
