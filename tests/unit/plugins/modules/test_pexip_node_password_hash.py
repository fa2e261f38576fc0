# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pexip_node's SSH password hash: derived from a secret, so kept out of the output like it."""

from types import SimpleNamespace

from ansible_collections.pexip.infinity.plugins.module_utils.sha512_crypt import is_sha512_crypt
from ansible_collections.pexip.infinity.plugins.modules import pexip_node


def node(password):
    module = SimpleNamespace(no_log_values=set())
    return SimpleNamespace(params=dict(ssh_password=password), module=module), module


def test_the_hash_made_from_a_password_is_a_no_log_value():
    this, module = node("Conferencing-Node-1")
    hashed = pexip_node.NodeModule.password_hash(this)
    assert is_sha512_crypt(hashed) and hashed in module.no_log_values


def test_a_password_that_only_starts_with_the_hash_prefix_is_hashed():
    this, module = node("$6$NotAHash")
    hashed = pexip_node.NodeModule.password_hash(this)
    assert hashed != "$6$NotAHash" and is_sha512_crypt(hashed)
