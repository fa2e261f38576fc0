# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/certificates.yml (and so site.yml) checks the certificates in use (issue #26 §3): below
pexip_certificate_warn_days it warns, below pexip_certificate_critical_days it fails, naming the certificate and its
nodes. Against the lab's installed Management Node, whose certificate (the primary's) is used by mgr-lab; no
Conferencing Node, so the playbook's first play has no host and only the check runs."""

import pytest
import yaml

from e2e import Api, output, run_playbook

pytestmark = pytest.mark.xdist_group("test_e2e_certificates")


@pytest.fixture(name="run")
def fixture_run(lab_env, tmp_path):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"management_node": {"hosts": {"mgr-lab": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}}}))
    return lambda *args: run_playbook(lab_env, str(inventory), *args, playbook="playbooks/certificates.yml", timeout=300)


def test_thresholds_warn_and_fail_naming_the_certificate_and_its_nodes(lab_env, run):
    api = Api(lab_env)
    primary = api.primary()
    subject = api.get(primary["tls_certificate"])["subject_name"]

    proc, recap = run()
    assert proc.returncode == 0 and recap["mgr-lab"]["failed"] == 0 and recap["mgr-lab"]["changed"] == 0, output(proc)
    assert "TLS certificate '%s'" % subject not in flat(proc), output(proc)

    proc, recap = run("-e", "pexip_certificate_warn_days=100000")  # a warning, naming the certificate and its node
    assert proc.returncode == 0, output(proc)
    assert "[WARNING]: TLS certificate '%s' (%s) expires in" % (subject, primary["tls_certificate"]) in flat(proc), output(proc)

    proc, recap = run("-e", "pexip_certificate_warn_days=100000", "-e", "pexip_certificate_critical_days=100000")
    assert proc.returncode != 0 and recap["mgr-lab"]["failed"] == 1, output(proc)
    failure = flat(proc).split("fatal: [mgr-lab]", 1)[-1]
    assert "TLS certificate '%s' (%s) expires in" % (subject, primary["tls_certificate"]) in failure, output(proc)
    assert "used by %s: fewer than 100000 days left" % primary["name"] in failure, output(proc)


def flat(proc):
    """The run's output with every run of whitespace one space (the callback wraps long messages)."""
    return " ".join((proc.stdout + proc.stderr).split())
