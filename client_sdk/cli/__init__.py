"""The ``oplot`` command line."""
