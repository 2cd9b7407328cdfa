"""Voice and video calls: Jingle signalling (``jingle``), the SDP mapping (``sdp``), the
session state machine (``session``), ringing (``jmi``), STUN/TURN discovery
(``ice_servers``), media sources and sinks (``media``) and the facade ``Calls``."""

from client_sdk.calls.config import CallConfig
from client_sdk.calls.errors import (
    CallBusy,
    CallDeclined,
    CallError,
    CallFailed,
    CallUnanswered,
    ConferenceForbidden,
    ConferenceFull,
    FingerprintMismatch,
    JingleError,
    SetupTimeout,
)
from client_sdk.calls.events import (
    CallStateChanged,
    ConferenceInvite,
    ConferenceSources,
    IncomingCall,
    RingingStopped,
)
from client_sdk.calls.manager import Calls
from client_sdk.calls.secure_channel import MemorySecureChannel, SecureChannel
from client_sdk.calls.session import JingleSession

__all__ = ["CallBusy", "CallConfig", "CallDeclined", "CallError", "CallFailed",
           "CallStateChanged", "CallUnanswered", "Calls", "ConferenceForbidden", "ConferenceFull",
           "ConferenceInvite", "ConferenceSources", "FingerprintMismatch", "IncomingCall",
           "JingleError", "JingleSession", "MemorySecureChannel", "RingingStopped",
           "SecureChannel", "SetupTimeout"]
