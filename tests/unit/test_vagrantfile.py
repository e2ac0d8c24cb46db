"""The Vagrantfile is valid Vagrant configuration.

Runs `vagrant validate --ignore-provider` in the repository root when the
`vagrant` binary exists (`sudo ./setup.sh test` installs Debian's `vagrant`
package where apt has it) and skips otherwise.  --ignore-provider because no
provider (VirtualBox, libvirt) is installed on CI; the rest of the file is
still checked.  No box is needed and nothing is downloaded.  Checked as users run it and as
scripts/ci-scenarios runs it (CLOUDNET_EMU_SYNCED_FOLDER=rsync: the synced folder's type).
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VAGRANT = shutil.which("vagrant")


@pytest.mark.skipif(VAGRANT is None, reason="vagrant is not installed")
@pytest.mark.parametrize("synced_folder", ["", "rsync"])
def test_vagrantfile_validates(tmp_path, synced_folder):
    assert (REPO / "Vagrantfile").is_file()
    env = dict(
        os.environ,
        VAGRANT_CHECKPOINT_DISABLE="1",  # no update check over the network
        VAGRANT_DOTFILE_PATH=str(tmp_path / ".vagrant"),  # keep the repo clean
        CLOUDNET_EMU_SYNCED_FOLDER=synced_folder,
    )
    proc = subprocess.run(
        [VAGRANT, "validate", "--ignore-provider", "--no-tty", "--no-color"],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "validated successfully" in proc.stdout
