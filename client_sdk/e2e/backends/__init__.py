"""OMEMO backends: our GOST one here; the standard ones are configuration in the registry."""
