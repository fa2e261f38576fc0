# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: playbooks/backup.yml on the lab - a backup downloaded, copied to S3 (moto) encrypted, old local copies
pruned; and a bad variable refused before anything is written."""

import hashlib
import os
import uuid

import pytest

import e2e  # pylint: disable=wrong-import-order
import labenv  # pylint: disable=wrong-import-order

pytestmark = pytest.mark.xdist_group("test_e2e_backup")

PLAYBOOK = "playbooks/backup.yml"


def test_backup_to_disk_and_s3_with_retention(lab_env, tmp_path):
    env = dict(lab_env)
    local = tmp_path / "backups"
    local.mkdir(mode=0o700)
    # Two older copies, and a file that is not a copy (kept whatever the retention)
    for stamp in ("20250101T000000Z", "20260101T000000Z"):
        (local / ("pexip-backup-%s.pexbak" % stamp)).write_bytes(b"old")
    (local / "notes.txt").write_text("mine")
    bucket = "pexip-backups-%s" % uuid.uuid4().hex[:8]
    s3 = labenv._client("s3", env)  # pylint: disable=protected-access
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": env["AWS_REGION"]})
    passphrase = "pp-" + uuid.uuid4().hex
    api = e2e.Api(env)
    before = set(b["filename"] for b in api.get("configuration/v1/system_backup/"))

    proc, recap = e2e.run_playbook(env, None, "-e", "backup_local_dir=%s" % local, "-e", "backup_passphrase=%s" % passphrase,
                                   "-e", "backup_s3_bucket=%s" % bucket, "-e", "backup_retention=2", playbook=PLAYBOOK, tmp=str(tmp_path))
    assert proc.returncode == 0, e2e.output(proc)
    assert recap["localhost"]["failed"] == 0 and recap["localhost"]["changed"] == 3  # backup, S3 copy, one old copy deleted
    assert passphrase not in proc.stdout + proc.stderr

    new = [b for b in api.get("configuration/v1/system_backup/") if b["filename"] not in before]
    assert len(new) == 1
    copies = sorted(p.name for p in local.iterdir())
    assert copies[0] == "notes.txt" and copies[1] == "pexip-backup-20260101T000000Z.pexbak" and len(copies) == 3
    taken = local / copies[2]
    assert hashlib.sha256(taken.read_bytes()).hexdigest() == new[0]["sha256sum"]
    assert oct(os.stat(taken).st_mode & 0o777) == "0o600"

    head = s3.head_object(Bucket=bucket, Key="pexip-backups/" + taken.name)
    assert head["ServerSideEncryption"] == "AES256" and head["ContentLength"] == new[0]["size"]
    assert head["Metadata"]["sha256"] == new[0]["sha256sum"]


@pytest.mark.parametrize("variables,message", [
    (["backup_retention=0"], "backup_retention must be a whole number, at least 1; got '0'"),
    (["backup_local_dir=/nonexistent/pexip"], "backup_local_dir /nonexistent/pexip must be an existing directory"),
    (["backup_s3_bucket=No_Such_Bucket"], "backup_s3_bucket must be an S3 bucket name (3-63 lower-case letters, digits, '.', '-') or unset; "
                                          "got 'No_Such_Bucket'"),
])
def test_bad_variables_are_refused_before_any_write(lab_env, tmp_path, variables, message):
    env = dict(lab_env)
    local = tmp_path / "backups"
    local.mkdir()
    control = e2e.lab_control(env)
    since = control.last_ts()
    args = ["-e", "backup_local_dir=%s" % local, "-e", "backup_passphrase=pp"]
    for variable in variables:
        args += ["-e", variable]
    proc, recap = e2e.run_playbook(env, None, *args, playbook=PLAYBOOK, tmp=str(tmp_path))
    assert proc.returncode != 0 and recap["localhost"]["failed"] == 1
    assert message in " ".join(proc.stdout.split()), e2e.output(proc)
    assert control.requests_log(since) == [] and list(local.iterdir()) == []
