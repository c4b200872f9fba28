"""The station registry: import from YAML station files or the bureau CSV."""
