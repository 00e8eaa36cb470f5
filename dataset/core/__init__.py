"""The foundation every package imports: errors, the storage layer, URIs, YAML, CLI conventions."""
