"""Extensions: per-run stats in the store, progress bar."""
