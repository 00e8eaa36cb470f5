"""Raw marketplace labels -> house taxonomy: tables, normalisation, suggestions, the ``map`` stage."""
