"""End-to-end encryption: GOST-OMEMO, legacy OMEMO and OMEMO 2 behind one facade."""

from client_sdk.e2e.facade import E2E as E2E
from client_sdk.e2e.keystore import KeyStore as KeyStore
