"""gost package."""

# Signatures, keys, certificates (asymmetric half).
from gost.curves import CURVES as CURVES
from gost.curves import Curve as Curve
from gost.curves import curve_by_oid as curve_by_oid
from gost.curves import get_curve as get_curve
from gost.keys import load_private_key as load_private_key
from gost.keys import load_public_key as load_public_key
from gost.keys import private_key_to_der as private_key_to_der
from gost.keys import private_key_to_pem as private_key_to_pem
from gost.keys import public_key_to_der as public_key_to_der
from gost.keys import public_key_to_pem as public_key_to_pem
from gost.sign import PrivateKey as PrivateKey
from gost.sign import PublicKey as PublicKey
from gost.vko import vko_2012_256 as vko_2012_256
from gost.vko import vko_2012_512 as vko_2012_512
from gost.x509 import Certificate as Certificate
from gost.x509 import CertificateRequest as CertificateRequest
from gost.x509 import Name as Name
from gost.x509 import issue_certificate as issue_certificate
