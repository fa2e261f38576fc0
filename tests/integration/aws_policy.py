# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The minimal IAM policy of the account that runs the collection (docs/iam.md) against the AWS calls the lab saw.

The lab's moto records every AWS call (tests/lab/moto_lab.py, GET /_lab/aws_calls) with its user agent; the
collection's calls are those of amazon.aws modules (``Ansible/``) and of the inventory plugin (``pexip.infinity/``).
The simulator, playing the Management Node, and the tests' own boto3 checks are someone else's calls.
An e2e test file imports ``aws_calls_mark`` (marks the record when its tests start) and ends with
``assert_calls_allowed(lab_env, aws_calls_mark)``: every call its runs made must be allowed by the policy.
"""

import fnmatch
import json
import os
import urllib.request

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
POLICY = os.path.join(REPO, "docs", "examples", "controller-iam-policy.json")
AGENTS = ("Ansible/", "pexip.infinity/")


def recorded_calls(env, since=0):
    with urllib.request.urlopen(env["AWS_URL"].rstrip("/") + "/_lab/aws_calls?since=%d" % since, timeout=30) as answer:
        return json.loads(answer.read())


def policy_actions(path=POLICY):
    with open(path, encoding="utf-8") as handle:
        policy = json.load(handle)
    actions = []
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        actions.extend([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    return actions


def collection_actions(calls):
    """{"ec2:RunInstances", ...} of the calls made by the collection."""
    return {"%s:%s" % (call["service"], call["action"]) for call in calls if any(agent in call["agent"] for agent in AGENTS)}


def not_allowed(actions, allowed):
    # IAM matches action names case-insensitively, with * wildcards.
    return sorted(a for a in actions if not any(fnmatch.fnmatch(a.lower(), pattern.lower()) for pattern in allowed))


# autouse: taken before the module's first fixture (the run whose calls are checked).
@pytest.fixture(scope="module", autouse=True)
def aws_calls_mark(lab_env):
    return recorded_calls(lab_env)["next"]


def assert_calls_allowed(env, since):
    actions = collection_actions(recorded_calls(env, since)["calls"])
    assert actions, "no AWS call of the collection recorded: is the lab's recorder working?"
    missing = not_allowed(actions, policy_actions())
    assert not missing, ("the collection called AWS actions that %s does not allow: %s (add them, and say why in "
                         "docs/iam.md)" % (os.path.relpath(POLICY, REPO), ", ".join(missing)))
    return actions
