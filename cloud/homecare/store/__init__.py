"""Home care over the store: the registry, work orders signed in and out, and made-up months. The caller commits;
every list takes the user whose scope it is read in.

Rules never run here: the pure modules (`counting`, `fraud`, `followup`) read the typed records these functions
return.
"""
