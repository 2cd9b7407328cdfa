"""File scanning engines: ClamAV (clamd), YARA, file type and size policy, DLP markings.

Each engine is fed the plaintext chunk by chunk (it is never written to disk) and reports
findings; :mod:`workflow.scanning.pipeline` runs them together and decides the verdict.
"""
