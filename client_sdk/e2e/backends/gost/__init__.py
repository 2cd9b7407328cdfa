"""GOST-OMEMO (``urn:oplot:omemo:gost:0``): an omemo.Backend with GOST-native crypto.

The wire format and every constant are specified in ``docs/gost-omemo.md``."""

from client_sdk.e2e.backends.gost.backend import NAMESPACE as NAMESPACE
from client_sdk.e2e.backends.gost.backend import GostBackend as GostBackend
