# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command line: ``PYTHONPATH=tests/lab python -m pexsim --listen 127.0.0.1:9443 ...`` (every option also reads PEXSIM_*)."""

import argparse
import logging
import os
import signal
import sys
import threading

if not __package__:
    # Run as a script (python tests/lab/pexsim/__main__.py): import the package from its parent directory instead.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from pexsim.server import PexSim  # pylint: disable=wrong-import-position  # noqa: E402


def _env(name, default):
    return os.environ.get('PEXSIM_' + name, default)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog='pexsim', description='Pexip Infinity simulator for the lab (loopback only).')
    parser.add_argument('--listen', default=_env('LISTEN', '127.0.0.1:9443'), help='Management Node API address (loopback only)')
    parser.add_argument('--state-file', default=_env('STATE_FILE', None), help='JSON state, loaded at start and saved after each write')
    parser.add_argument('--tls-dir', default=_env('TLS_DIR', None), help='where ca.pem, mgmt.pem and node certificates live')
    parser.add_argument('--username', default=_env('USERNAME', 'admin'))
    parser.add_argument('--password', default=_env('PASSWORD', 'pexsim'))
    parser.add_argument('--aws-url', default=_env('AWS_URL', None), help='moto endpoint, e.g. http://127.0.0.1:5000 (AWS_* env for keys/region)')
    parser.add_argument('--node-port', type=int, default=int(_env('NODE_PORT', '8443')))
    parser.add_argument('--mgmt-hostname', default=_env('MGMT_HOSTNAME', 'mgr-lab'), help='also the pexip-cloud bursting tag value')
    parser.add_argument('--boot-delay', type=float, default=float(_env('BOOT_DELAY', '2')))
    parser.add_argument('--sync-delay', type=float, default=float(_env('SYNC_DELAY', '1')))
    parser.add_argument('--backup-delay', type=float, default=float(_env('BACKUP_DELAY', '2')), help='seconds a backup request takes')
    parser.add_argument('--call-duration', type=float, default=float(_env('CALL_DURATION', '0')))
    parser.add_argument('--poll-interval', type=float, default=float(_env('POLL_INTERVAL', '0.5')))
    parser.add_argument('--minute-seconds', type=float, default=float(_env('MINUTE_SECONDS', '60')))
    parser.add_argument('--strict-fields', action='store_true', default=_env('STRICT_FIELDS', '') not in ('', '0', 'false'))
    parser.add_argument('--ssh-port', type=int, default=int(_env('SSH_PORT', '0')),
                        help='SSH first boot of Management Node instances on <private ip>:PORT (0: off; needs --aws-url)')
    parser.add_argument('--ssh-key-file', default=_env('SSH_KEY_FILE', None), help="private key of the instances' key pair")
    parser.add_argument('--ssh-key-name', default=_env('SSH_KEY_NAME', 'pexip-lab'), help='name of that key pair in EC2')
    parser.add_argument('--reboot-delay', type=float, default=float(_env('REBOOT_DELAY', '2')),
                        help='seconds from the end of the installation wizard until the API answers')
    parser.add_argument('--pid-file', default=_env('PID_FILE', None))
    parser.add_argument('--log-file', default=_env('LOG_FILE', None))
    parser.add_argument('--log-level', default=_env('LOG_LEVEL', 'INFO'))
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(filename=args.log_file, level=getattr(logging, args.log_level.upper(), logging.INFO),
                        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    timing = {'boot_delay': args.boot_delay, 'sync_delay': args.sync_delay, 'call_duration': args.call_duration,
              'poll_interval': args.poll_interval, 'minute_seconds': args.minute_seconds, 'strict_fields': args.strict_fields,
              'backup_delay': args.backup_delay}
    try:
        sim = PexSim(listen=args.listen, state_file=args.state_file, tls_dir=args.tls_dir, username=args.username, password=args.password,
                     aws_url=args.aws_url, node_port=args.node_port, mgmt_hostname=args.mgmt_hostname, timing=timing,
                     ssh_port=args.ssh_port or None, ssh_key_file=args.ssh_key_file, ssh_key_name=args.ssh_key_name,
                     firstboot={'reboot_delay': args.reboot_delay}).start()
    except (ValueError, OSError) as exc:
        sys.stderr.write('pexsim: %s\n' % exc)
        return 2
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: stopping.set())
    if args.pid_file:
        sim.write_pid(args.pid_file)
    logging.getLogger('pexsim').info('ready on %s', sim.url)
    print('ready', flush=True)
    while not stopping.wait(0.5):
        pass
    sim.stop()
    if args.pid_file and os.path.exists(args.pid_file):
        os.unlink(args.pid_file)
    logging.getLogger('pexsim').info('stopped')
    return 0


if __name__ == '__main__':
    sys.exit(main())
