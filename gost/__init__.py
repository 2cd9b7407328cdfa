"""gost package."""

# Hashes, ciphers, modes, AEAD, KDFs (symmetric half).
from gost.acpkm import CtrAcpkm as CtrAcpkm
from gost.acpkm import ctr_acpkm as ctr_acpkm
from gost.acpkm import omac_acpkm as omac_acpkm
from gost.exceptions import DecodeError as DecodeError
from gost.exceptions import InvalidSignature as InvalidSignature
from gost.exceptions import InvalidTag as InvalidTag
from gost.kdf import HmacKey as HmacKey
from gost.kdf import hkdf as hkdf
from gost.kdf import hmac_streebog256 as hmac_streebog256
from gost.kdf import hmac_streebog512 as hmac_streebog512
from gost.kdf import kdf_gostr3411_2012_256 as kdf_gostr3411_2012_256
from gost.kdf import kdf_tree_gostr3411_2012_256 as kdf_tree_gostr3411_2012_256
from gost.kdf import pbkdf2_streebog512 as pbkdf2_streebog512
from gost.keywrap import kexp15 as kexp15
from gost.keywrap import kimp15 as kimp15
from gost.kuznyechik import Kuznyechik as Kuznyechik
from gost.magma import Magma as Magma
from gost.mgm import KuznyechikMGM as KuznyechikMGM
from gost.mgm import MagmaMGM as MagmaMGM
from gost.stream import StreamDecryptor as StreamDecryptor
from gost.stream import StreamEncryptor as StreamEncryptor
from gost.stream import decrypt_stream as decrypt_stream
from gost.stream import encrypt_stream as encrypt_stream
from gost.streebog import streebog256 as streebog256
from gost.streebog import streebog512 as streebog512

# isort: split
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
