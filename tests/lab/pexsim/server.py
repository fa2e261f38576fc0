# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wiring: TLS material, the model, the Management Node listener, the node servers and the EC2 watcher."""

import logging
import os
import tempfile

from .httpbase import TlsServer
from .mgmt import MgmtApp
from .nodes import NodeServers
from .sim import Simulator, is_loopback
from .tls import TlsMaterial

LOG = logging.getLogger('pexsim')


def parse_listen(text):
    host, _sep, port = text.rpartition(':')
    host = host.strip('[]') or '127.0.0.1'
    if not is_loopback(host):
        raise ValueError('the simulator only listens on loopback addresses, got %r' % host)
    return host, int(port)


class PexSim:
    """One simulated Pexip platform; usable in-process (tests) or through ``python -m pexsim``."""

    def __init__(self, listen='127.0.0.1:9443', state_file=None, tls_dir=None, username='admin', password='pexsim',
                 aws_url=None, node_port=8443, mgmt_hostname='mgr-lab', timing=None, ssh_port=None, ssh_key_file=None,
                 ssh_key_name='pexip-lab', firstboot=None):
        self.host, self.requested_port = parse_listen(listen)
        self.tls_dir = tls_dir or tempfile.mkdtemp(prefix='pexsim-tls-')
        self.tls = TlsMaterial(self.tls_dir, mgmt_dns=('localhost', mgmt_hostname), mgmt_ips=tuple(sorted({'127.0.0.1', self.host})))
        self.sim = Simulator(state_file=state_file, mgmt_hostname=mgmt_hostname, mgmt_address=self.host, timing=timing)
        self.nodes = NodeServers(self.sim, self.tls, node_port)
        self.watcher = None
        if aws_url:
            # boto3 is slow to import; a simulator without EC2 never needs it.
            from .ec2 import Ec2Watcher  # pylint: disable=import-outside-toplevel
            self.watcher = Ec2Watcher(self.sim, self.nodes, aws_url)
            self.sim.upgrade.starter = self.watcher.start_instance  # bursting nodes started for an upgrade
            self.sim.refresh = self.watcher.poll
        self.app = MgmtApp(self.sim, username, password, self.watcher)
        self.server = None
        if ssh_port and self.watcher:
            # New Management Node instances: SSH first boot, then the API on <private ip>:<this port> (sshboot.py).
            from .sshboot import FirstBoot  # pylint: disable=import-outside-toplevel
            self.watcher.firstboot = FirstBoot(self.sim, self.tls, ssh_port, ssh_key_file, ssh_key_name, self._serve_installed, firstboot,
                                               aws_url=aws_url)

    def _serve_installed(self, ip, username, password):
        """The API of a Management Node installed by the wizard: same platform model, its own web credentials."""
        server = TlsServer((ip, self.port), MgmtApp(self.sim, username, password, self.watcher),
                           self.tls.installed_context(self.sim.management_certificate))
        server.start('mgmt-%s' % ip)
        LOG.info('Management Node API on https://%s:%d (installed by the wizard)', ip, self.port)
        return server

    @property
    def port(self):
        return self.server.server_address[1]

    @property
    def url(self):
        return 'https://%s:%d' % (self.host, self.port)

    @property
    def ca_path(self):
        return self.tls.ca_path

    def start(self):
        self.server = TlsServer((self.host, self.requested_port), self.app, self.tls.mgmt_context())
        self.server.start('mgmt')
        if self.watcher:
            self.watcher.start()
        LOG.info('Management Node API on %s (state %s, TLS %s)', self.url, self.sim.store.path, self.tls_dir)
        return self

    def stop(self):
        if self.watcher:
            self.watcher.stop()
        self.nodes.stop_all()
        if self.server:
            self.server.stop()
        self.sim.store.save()

    def write_pid(self, path):
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write('%d\n' % os.getpid())
