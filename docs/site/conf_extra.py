# Appended by `make docs` to the conf.py that `antsibull-docs sphinx-init` writes.

# The guides in docs/ are Markdown.
globals()["extensions"].append("myst_parser")  # the list the generated conf.py defines above
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
myst_heading_anchors = 3

# Offline build: no intersphinx inventories to fetch. References into Ansible's own docs (common return values,
# configuration settings, other collections' modules) become plain links to docs.ansible.com instead; any other
# unresolved reference still fails the build (-W).
intersphinx_mapping = {}
_ANSIBLE_DOCS = "https://docs.ansible.com/ansible/latest/"
_ANSIBLE_LABELS = {
    "common_return_values": "reference_appendices/common_return_values.html",
    "ansible_configuration_settings": "reference_appendices/config.html",
}


def _external_reference(app, env, node, contnode):
    from docutils import nodes  # pylint: disable=import-outside-toplevel

    target, reftype = node.get("reftarget", ""), node.get("reftype")
    url = None
    if reftype == "ref" and target in _ANSIBLE_LABELS:
        url = _ANSIBLE_DOCS + _ANSIBLE_LABELS[target]
    elif reftype == "ref" and target.startswith("ansible_collections.") and target.endswith("_module") \
            and not target.startswith("ansible_collections.pexip.infinity."):
        namespace, name, plugin = target.split(".", 3)[1:]
        url = "%scollections/%s/%s/%s.html" % (_ANSIBLE_DOCS, namespace, name, plugin)
    elif reftype == "envvar" and target.startswith("ANSIBLE_"):
        url = "%sreference_appendices/config.html#envvar-%s" % (_ANSIBLE_DOCS, target)
    if url is None:
        return None
    reference = nodes.reference("", "", internal=False, refuri=url)
    reference += contnode
    return reference


def setup(app):
    app.connect("missing-reference", _external_reference)
