# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/examples/controller-iam-policy.json: well formed, IAM scoped to the bursting user and policy, and the matcher
the e2e files use (tests/integration/aws_policy.py) to check the lab's recorded AWS calls against it."""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import aws_policy  # noqa: E402  pylint: disable=wrong-import-position


def statements():
    with open(aws_policy.POLICY, encoding="utf-8") as handle:
        policy = json.load(handle)
    assert policy["Version"] == "2012-10-17"
    return policy["Statement"]


def test_policy_is_allow_only_with_unique_sids_and_actions():
    sids = [s["Sid"] for s in statements()]
    assert len(sids) == len(set(sids))
    actions = aws_policy.policy_actions()
    assert len(actions) == len(set(actions)) and all(":" in a and "*" not in a for a in actions)


def test_iam_is_scoped_to_the_bursting_user_and_policy():
    for statement in statements():
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        writes = [a for a in actions if a.startswith("iam:") and a != "iam:ListPolicies"]
        if writes:
            assert statement["Resource"] in ("arn:aws:iam::*:user/pexip-bursting-*", "arn:aws:iam::*:policy/pexip-cloud-bursting-*")
        # Attaching a policy is limited to the bursting policy: never AdministratorAccess on the bursting user.
        if "iam:AttachUserPolicy" in actions:
            assert actions == ["iam:AttachUserPolicy"]
            assert statement["Condition"] == {"ArnLike": {"iam:PolicyARN": "arn:aws:iam::*:policy/pexip-cloud-bursting-*"}}


def test_every_policy_action_is_documented():
    with open(os.path.join(ROOT, "docs", "iam.md"), encoding="utf-8") as handle:
        doc = handle.read()
    for statement in statements():
        assert "`%s`" % statement["Sid"] in doc


def test_matcher_names_what_the_policy_lacks():
    calls = [{"service": "ec2", "action": "RunInstances", "agent": "APN/1.0 Ansible/2.18.1 amazon.aws/9.1.0"},
             {"service": "ec2", "action": "DescribeInstances", "agent": "Boto3/1.35 pexip.infinity/inventory"},
             {"service": "ec2", "action": "DeleteVpc", "agent": "Boto3/1.35 md/pexsim"},  # not the collection's
             {"service": "ec2", "action": "DeleteVpc", "agent": "APN/1.0 Ansible/2.18.1 amazon.aws/9.1.0"}]
    actions = aws_policy.collection_actions(calls)
    assert actions == {"ec2:RunInstances", "ec2:DescribeInstances", "ec2:DeleteVpc"}
    assert aws_policy.not_allowed(actions, aws_policy.policy_actions()) == ["ec2:DeleteVpc"]
    assert aws_policy.not_allowed({"ec2:describeinstances"}, ["ec2:Describe*"]) == []
