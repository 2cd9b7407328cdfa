"""End-to-end encrypted file sharing (XEP-0363 upload, XEP-0447/0448, XEP-0454 fallback)."""

from client_sdk.files.download import FileBlocked, IntegrityError, ScanPending
from client_sdk.files.sfs import FileOffer
from client_sdk.files.sharing import Files
from client_sdk.files.upload import FileError, UploadRefused

__all__ = ["FileBlocked", "FileError", "FileOffer", "Files", "IntegrityError", "ScanPending",
           "UploadRefused"]
