# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Conferencing Node bootstrap document ("Generic (configuration-only)" deployment).

The real file's content is not public; this XML names the node and its Management Node and carries a random secret
that the Management Node keeps with the worker_vm, so an upload can be checked against what was issued.
"""

import xml.etree.ElementTree as ET

ROOT_TAG = 'pexip-conferencing-node-configuration'
# UNCONFIRMED (docs/lab.md): the content type of the document in the answer to POST worker_vm/ (XML vs JSON-wrapped).
CONTENT_TYPE = 'text/xml'
NODE_FIELDS = ('name', 'hostname', 'domain', 'address', 'netmask', 'gateway', 'node_type', 'system_location')


class DocumentError(Exception):
    """Not a document this simulator issued."""


def build(worker, location_name, secret, mgmt_address, mgmt_hostname):
    root = ET.Element(ROOT_TAG, {'version': '1', 'generator': 'pexsim'})
    ET.SubElement(root, 'management-node', {'address': mgmt_address, 'hostname': mgmt_hostname})
    node = ET.SubElement(root, 'node', {'id': str(worker['id'])})
    values = dict(worker, system_location=location_name)
    for name in NODE_FIELDS:
        ET.SubElement(node, name.replace('_', '-')).text = str(values[name])
    if worker.get('static_nat_address'):
        ET.SubElement(node, 'static-nat-address').text = worker['static_nat_address']
    ET.SubElement(root, 'secret').text = secret
    ET.indent(root)
    return ET.tostring(root, encoding='utf-8', xml_declaration=True) + b'\n'


def parse(data):
    """Return {name, hostname, ..., secret, management_address} from a document, or raise DocumentError."""
    if not data:
        raise DocumentError('empty upload')
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise DocumentError('not XML (%s)' % exc) from None
    if root.tag != ROOT_TAG:
        raise DocumentError('unexpected root element <%s>' % root.tag)
    node = root.find('node')
    secret = root.findtext('secret')
    mgmt = root.find('management-node')
    if node is None or not secret or mgmt is None:
        raise DocumentError('missing <node>, <management-node> or <secret>')
    result = {'secret': secret.strip(), 'management_address': mgmt.get('address')}
    for name in NODE_FIELDS:
        value = node.findtext(name.replace('_', '-'))
        if value is None:
            raise DocumentError('missing <%s>' % name.replace('_', '-'))
        result[name] = value.strip()
    return result
