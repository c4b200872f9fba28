"""The alert lifecycle over the store: raising by cause key, acknowledging, resolving, call acknowledgements."""
