# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The simulator's SSH first boot of a new Management Node (pexsim/sshboot.py), driven with plain paramiko."""

import re
import socket
import ssl
import time
import warnings
from urllib.parse import urlsplit

import paramiko
import pytest
import requests
from cryptography import x509

import labcerts
from conftest import FAST, free_port, wait_for
from labctl import LabControl, LabError
from pexsim.server import PexSim
from pexsim.sshboot import CONTACT_EMAIL_PROMPT

pytestmark = pytest.mark.ec2


@pytest.fixture
def boot(request, moto_url, ec2, subnet, tls_dir, tmp_path):
    """A simulator with the SSH first boot, a key pair and a Management Node image; yields a launcher."""
    key_name = 'sshboot-%d' % time.monotonic_ns()
    key_file = str(tmp_path / 'key.pem')
    with open(key_file, 'w', encoding='utf-8') as handle:
        handle.write(ec2.create_key_pair(KeyName=key_name)['KeyMaterial'])
    image = ec2.register_image(Name='Pexip Infinity Management Node 34 build %d' % time.monotonic_ns(), RootDeviceName='/dev/sda1')['ImageId']
    ssh_port = free_port()
    sim = PexSim(listen='127.0.0.1:0', state_file=str(tmp_path / 'state.json'), tls_dir=tls_dir, aws_url=moto_url, node_port=free_port(),
                 timing=dict(FAST), ssh_port=ssh_port, ssh_key_file=key_file, ssh_key_name=key_name,
                 firstboot={'reboot_delay': 0.5, 'wizard_delay': 0}).start()
    lab = LabControl(sim.url, sim.ca_path)

    def launch():
        address = ec2.run_instances(ImageId=image, InstanceType='m5.xlarge', MinCount=1, MaxCount=1, KeyName=key_name,
                                    SubnetId=subnet)['Instances'][0]['PrivateIpAddress']
        lab.poll()
        wait_for(lambda: (lab.management_node(address) or {}).get('ssh_listening'))
        return address

    yield dict(sim=sim, lab=lab, launch=launch, key=paramiko.RSAKey.from_private_key_file(key_file), port=ssh_port, ca=sim.ca_path)
    sim.stop()


class Shell:
    def __init__(self, address, port, key):
        self.client = paramiko.SSHClient()
        self.client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        self.client.connect(address, port=port, username='admin', pkey=key, look_for_keys=False, allow_agent=False, timeout=5)
        self.chan = self.client.invoke_shell()
        self.chan.settimeout(5)
        self.out = ''

    def until(self, pattern):
        while not re.search(pattern, self.out):
            data = self.chan.recv(4096)
            if not data:
                raise EOFError(self.out)
            self.out += data.decode()
        return self.out

    def send(self, text):
        self.chan.sendall((text + '\n').encode())

    def closed(self):
        try:
            while self.chan.recv(4096):
                pass
        except socket.timeout:
            return False
        return True


OS_PASSWORD = 'os-secret-1'


def set_os_password(boot, address):
    """The first login: the OS password is set, then the session closes. Returns that shell."""
    shell = Shell(address, boot['port'], boot['key'])
    shell.until('Enter new UNIX password: $')
    shell.send(OS_PASSWORD)
    shell.until('Retype new UNIX password: $')
    shell.send(OS_PASSWORD)
    shell.until('closed')
    return shell


def wizard_shell(boot, address):
    """The next login: sudo's password prompt answered, the wizard next."""
    shell = Shell(address, boot['port'], boot['key'])
    shell.until(r'\[sudo\] password for admin: $')
    shell.send(OS_PASSWORD)
    return shell


def answer_wizard(shell, answers):
    for prompt, value in answers:
        shell.until(re.escape(prompt) + r'[^\n]*: $')
        shell.send(value)


WIZARD = [('IP address', ''), ('Network mask', ''), ('Gateway', ''), ('Hostname', 'mgr01'), ('Domain suffix', 'example.com'),
          ('DNS servers', '127.0.0.53'), ('NTP servers', '127.0.0.123'), ('Web administration username', 'web'),
          ('Web administration password', 'web-secret'), ('Re-enter web administration password', 'web-secret'),
          ('Enable incident reporting', 'no'), ('Send deployment and usage statistics', 'no')]


def test_first_boot_then_the_api_with_the_chosen_credentials(boot, tmp_path):
    address = boot['launch']()
    shell = set_os_password(boot, address)
    assert 'password updated successfully' in shell.out
    assert shell.closed()
    assert boot['lab'].management_node(address)['state'] == 'password_set'

    shell = wizard_shell(boot, address)
    answer_wizard(shell, WIZARD[:5])
    shell.until('DNS servers')
    shell.send('300.1.1.1')  # refused, asked again
    assert "Invalid DNS server address '300.1.1.1'" in shell.until(r"Please try again\.\r\nDNS servers [^\n]*: $")
    shell.send('127.0.0.53')
    answer_wizard(shell, WIZARD[6:])
    assert 'The system will now reboot' in shell.until('reboot')
    assert OS_PASSWORD not in shell.out and 'web-secret' not in shell.out  # passwords are not echoed

    url = 'https://%s:%d/api/admin/configuration/v1/ntp_server/' % (address, boot['sim'].port)
    wait_for(lambda: boot['lab'].poll() and boot['lab'].management_node(address)['api_listening'], timeout=10)
    # A new install serves its self-signed default certificate: the lab CA does not verify it.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url, auth=('web', 'web-secret'), verify=boot['ca'], timeout=5)
    served = x509.load_pem_x509_certificate(ssl.get_server_certificate((address, boot['sim'].port)).encode())
    assert served.issuer == served.subject and served.subject.rfc4514_string() == 'CN=mgr01.example.com'
    cert_pem = boot['sim'].sim.management_certificate()[1]
    assert x509.load_pem_x509_certificate(cert_pem.encode()) == served  # the primary management_vm's tls_certificate
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        assert requests.get(url, auth=('web', 'web-secret'), verify=False, timeout=5).json()['objects'][0]['address'] == '127.0.0.123'
        assert requests.get(url, auth=('admin', 'pexsim'), verify=False, timeout=5).status_code == 401
    node = boot['lab'].management_node(address)
    assert node['state'] == 'installed' and node['answers']['gateway'] == address.rsplit('.', 1)[0] + '.1'
    assert 'web-secret' not in str(node) and OS_PASSWORD not in str(node)

    # A real certificate uploaded and assigned to the Management Node: new connections get it, and it verifies.
    ca = labcerts.make_ca()
    pair = labcerts.issue(ca, 'mgr01.example.com', [address])
    api = 'https://%s:%d/api/admin/configuration/v1/' % (address, boot['sim'].port)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        created = requests.post(api + 'tls_certificate/', json={'certificate': pair.cert_pem, 'private_key': pair.key_pem},
                                auth=('web', 'web-secret'), verify=False, timeout=5)
        assert created.status_code == 201, created.text
        assert requests.patch(api + 'management_vm/1/', json={'tls_certificate': urlsplit(created.headers['Location']).path},
                              auth=('web', 'web-secret'), verify=False, timeout=5).status_code in (200, 202, 204)
    ca_file = tmp_path / 'operator-ca.pem'
    ca_file.write_text(ca.cert_pem)
    assert requests.get(url, auth=('web', 'web-secret'), verify=str(ca_file), timeout=5).status_code == 200


def test_only_the_instances_key_pair(boot):
    address = boot['launch']()
    with pytest.raises(paramiko.AuthenticationException):
        Shell(address, boot['port'], paramiko.RSAKey.generate(2048))


def test_ntp_unreachable_fails_the_wizard_and_it_starts_over(boot):
    address = boot['launch']()
    boot['lab'].set_firstboot(ntp_reachable=False)
    set_os_password(boot, address)
    shell = wizard_shell(boot, address)
    answer_wizard(shell, WIZARD)
    assert 'ERROR: Unable to reach NTP server(s) 127.0.0.123' in shell.until('Installation failed')
    assert boot['lab'].management_node(address)['state'] == 'password_set'
    shell = Shell(address, boot['port'], boot['key'])
    shell.until(r'\[sudo\] password for admin: $')


def test_control_api_checks_its_knobs(boot):
    with pytest.raises(LabError):
        boot['lab'].set_firstboot(stall_at='nowhere')
    with pytest.raises(LabError):
        boot['lab'].set_firstboot(extra_prompt={'before': 'dns_servers'})
    with pytest.raises(LabError):
        boot['lab'].set_firstboot(colour='blue')
    settings = boot['lab'].set_firstboot(extra_prompt={'before': 'hostname', 'text': 'Upgrade now? (yes/no):'}, stall_at='sudo')
    assert settings['stall_at'] == 'sudo' and settings['extra_prompt']['before'] == 'hostname'
    assert boot['lab'].firstboot()['settings']['stall_at'] == 'sudo'


def test_cycle_after_makes_a_wizard_that_starts_over_for_ever(boot):
    with pytest.raises(LabError):
        boot['lab'].set_firstboot(cycle_after='nowhere')
    address = boot['launch']()
    boot['lab'].set_firstboot(cycle_after='gateway')
    shell = Shell(address, boot['port'], boot['key'])
    shell.until('Enter new UNIX password: $')
    shell.send('os-secret-1')
    shell.until('Retype new UNIX password: $')
    shell.send('os-secret-1')
    shell.until('closed')
    shell = Shell(address, boot['port'], boot['key'])
    shell.until(r'\[sudo\] password for admin: $')
    shell.send('os-secret-1')
    for dummy in range(3):
        answer_wizard(shell, WIZARD[:3])
    shell.until(r'IP address [^\n]*: $')
    assert shell.out.count('IP address') == 4 and 'Hostname' not in shell.out
    assert boot['lab'].management_node(address)['state'] == 'password_set'


def test_contact_email_address_only_after_yes_to_incident_reporting(boot):
    address = boot['launch']()
    set_os_password(boot, address)
    shell = wizard_shell(boot, address)
    answer_wizard(shell, WIZARD[:10] + [('Enable incident reporting', 'yes')])
    shell.until(re.escape(CONTACT_EMAIL_PROMPT) + '$')
    shell.send('ops at example.com')  # refused, asked again
    assert "Invalid email address 'ops at example.com'" in shell.until(r'Please try again\.\r\n' + re.escape(CONTACT_EMAIL_PROMPT) + '$')
    shell.send('ops@example.com')
    answer_wizard(shell, WIZARD[11:])
    assert 'The system will now reboot' in shell.until('reboot')
    assert shell.out.count(CONTACT_EMAIL_PROMPT) == 2
    answers = boot['lab'].management_node(address)['answers']
    assert answers['incident_reporting'] is True and answers['contact_email_address'] == 'ops@example.com'


def test_no_contact_email_address_after_no(boot):
    address = boot['launch']()
    set_os_password(boot, address)
    shell = wizard_shell(boot, address)
    answer_wizard(shell, WIZARD)
    assert 'The system will now reboot' in shell.until('reboot')
    assert CONTACT_EMAIL_PROMPT not in shell.out
    assert 'contact_email_address' not in boot['lab'].management_node(address)['answers']
