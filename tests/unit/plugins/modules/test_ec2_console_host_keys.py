# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ec2_console_host_keys: the SSH host keys cloud-init prints to an instance's console output."""

import pytest

from ansible_collections.pexip.infinity.plugins.module_utils.ssh import fingerprint
from ansible_collections.pexip.infinity.plugins.modules import ec2_console_host_keys as mod

paramiko = pytest.importorskip("paramiko")

ECDSA = paramiko.ECDSAKey.generate()
ED25519_FP = "SHA256:Ew1ZtbUoKzo3rrSjHqx2m9XuYkyIeJbV5Mw9zyXbb5M"
RSA_FP = "SHA256:6l1q8vVbz0Xk1wWq0vZb2nq2fB1i5XkzD9yR0c3cXyE"


def cloud_init(keys=True, prefix="ec2: "):
    """A console output as an Ubuntu/Amazon Linux cloud-init image prints it, kernel log around it."""
    lines = [
        "[    0.000000] Linux version 6.1.0-aws (builder@amazon) #1 SMP",
        "[   12.345678] cloud-init[812]: Cloud-init v. 23.4 running 'modules:final'",
        prefix + "#############################################################",
        prefix + "-----BEGIN SSH HOST KEY FINGERPRINTS-----",
        prefix + "256 %s root@ip-10-0-0-10 (ECDSA)" % fingerprint(ECDSA),
        prefix + "256 %s root@ip-10-0-0-10 (ED25519)" % ED25519_FP,
        prefix + "3072 %s root@ip-10-0-0-10 (RSA)" % RSA_FP,
        prefix + "-----END SSH HOST KEY FINGERPRINTS-----",
        prefix + "#############################################################",
    ]
    if keys:
        lines += ["-----BEGIN SSH HOST KEY KEYS-----", "%s %s root@ip-10-0-0-10" % (ECDSA.get_name(), ECDSA.get_base64()),
                  "-----END SSH HOST KEY KEYS-----"]
    lines.append("[   13.000000] cloud-init[812]: Cloud-init v. 23.4 finished")
    return "\r\n".join(lines) + "\r\n"


def test_the_keys_block_wins_and_its_fingerprints_are_computed():
    fingerprints, keys = mod.host_keys(cloud_init())
    assert keys == ["%s %s" % (ECDSA.get_name(), ECDSA.get_base64())]
    assert fingerprints == [dict(type=ECDSA.get_name(), fingerprint=fingerprint(ECDSA))]


@pytest.mark.parametrize("prefix", ["ec2: ", "", "[   12.5] cloud-init[812]: ec2: "])
def test_the_fingerprints_block_alone(prefix):
    fingerprints, keys = mod.host_keys(cloud_init(keys=False, prefix=prefix))
    assert keys == []
    assert fingerprints == [dict(type="ECDSA", fingerprint=fingerprint(ECDSA)), dict(type="ED25519", fingerprint=ED25519_FP),
                            dict(type="RSA", fingerprint=RSA_FP)]


def test_the_last_boot_counts():
    other = paramiko.ECDSAKey.generate()
    second = cloud_init().replace(ECDSA.get_base64(), other.get_base64())
    assert mod.host_keys(cloud_init() + second)[0] == [dict(type=other.get_name(), fingerprint=fingerprint(other))]


@pytest.mark.parametrize("output", [
    "",
    "Linux version 2.6.16-xenU (builder@patchbat.amazonsa)\nBIOS-provided physical RAM map:\n",   # moto's console output
    "ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----\nec2: 2048 a1:b2:c3:d4:e5:f6:a7:b8:c9:d0:e1:f2:a3:b4:c5:d6 /etc/ssh/ssh_host_rsa_key.pub (RSA)\n"
    "ec2: -----END SSH HOST KEY FINGERPRINTS-----\n",                                                 # MD5, older cloud-init
    "-----BEGIN SSH HOST KEY FINGERPRINTS-----\n256 SHA256:%s root@x (ECDSA)\n" % fingerprint(ECDSA)[7:],  # cut off: no END line
])
def test_nothing_to_pin(output):
    assert mod.host_keys(output) == ([], [])
