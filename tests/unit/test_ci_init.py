"""`cloudnet-emu ci init`: the files it writes, checked by the CIs' own rules, and its refusals.

The generated files are compared with golden copies (tests/unit/golden/ci-*.yml; rewrite them
with CLOUDNET_REGEN_GOLDEN=1 and read the diff).  Checks on them:
- GitHub: actionlint, with shellcheck on every `run:` script;
- GitLab: GitLab's own CI JSON schema (check-jsonschema's vendored copy, no network), explicit
  structure checks (every job's stage, extends, artifact paths and JUnit report) and shellcheck
  on every job's before_script + script as one bash script, as the runner runs them;
- scripts/ci-scenarios, which both run: shellcheck.
Refusals print one line (or the located problems of the scenario files) and exit 2, and write
nothing.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cloudnet_emu.ci.render import ARTIFACTS, OUT, SHAPES
from cloudnet_emu.cli import main

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
BIN = Path(sys.executable).parent
SOURCE = "https://git.example.org/cloudnet-emu.git"


def tool(name: str):
    return shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def needs(name: str):
    return pytest.mark.skipif(tool(name) is None, reason=f"{name} is not installed (pip install -e '.[test]')")


@pytest.fixture
def user_repo(tmp_path, monkeypatch):
    """A user's repository: the shipped scenarios and topology, and nothing of cloudnet-emu."""
    shutil.copytree(REPO / "scenarios", tmp_path / "scenarios")
    shutil.copytree(REPO / "topologies", tmp_path / "topologies")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def init(*argv):
    return CliRunner().invoke(main, ["ci", "init", *argv], prog_name="cloudnet-emu")


def written(repo: Path) -> list[str]:
    return sorted(str(p.relative_to(repo)) for p in repo.rglob("*")
                  if p.is_file() and not str(p.relative_to(repo)).startswith(("scenarios", "topologies")))


ARGS = ["--source", SOURCE, "scenarios/attach.yaml", "scenarios/migrate.yaml"]


@pytest.mark.parametrize("flavour, path", [("github", ".github/workflows/cloudnet-emu.yml"),
                                           ("gitlab", ".gitlab-ci.yml")])
def test_the_written_file_matches_its_golden_copy(user_repo, flavour, path):
    result = init(f"--{flavour}", *ARGS)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {path}: {flavour} pipeline for scenarios/attach.yaml, scenarios/migrate.yaml\n"
    assert written(user_repo) == [path]
    golden = GOLDEN / f"ci-{flavour}.yml"
    if os.environ.get("CLOUDNET_REGEN_GOLDEN") == "1":
        golden.write_text((user_repo / path).read_text())
    assert (user_repo / path).read_text() == golden.read_text()


@needs("actionlint")
@needs("shellcheck")
def test_github_workflow_passes_actionlint_with_shellcheck(user_repo):
    assert init("--github", *ARGS).exit_code == 0
    wf = user_repo / ".github/workflows/cloudnet-emu.yml"
    proc = subprocess.run([tool("actionlint"), "-shellcheck", tool("shellcheck"), "-no-color", str(wf)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # actionlint does see problems in a file like it (so the pass above means something).
    broken = wf.read_text().replace("timeout-minutes: 60", "timeout-minutes: 60\n    timeout: 60", 1)
    broken = broken.replace('read -r -a scenarios <<<"$CLOUDNET_EMU_SCENARIOS"',
                            "read -r -a scenarios <<<$CLOUDNET_EMU_SCENARIOS; echo $UNQUOTED", 1)
    wf.write_text(broken)
    proc = subprocess.run([tool("actionlint"), "-shellcheck", tool("shellcheck"), "-no-color", str(wf)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert 'unexpected key "timeout" for "job" section' in proc.stdout
    assert "SC2086" in proc.stdout


def test_github_workflow_without_source_reads_the_repository_variable(user_repo):
    result = init("--github", "scenarios/attach.yaml")
    assert result.exit_code == 0
    assert result.stdout.endswith("set the CI variable CLOUDNET_EMU_GIT to the git URL of cloudnet-emu "
                                  "(or run again with --source URL)\n")
    wf = yaml.safe_load((user_repo / ".github/workflows/cloudnet-emu.yml").read_text())
    assert wf["env"] == {"CLOUDNET_EMU_GIT": "${{ vars.CLOUDNET_EMU_GIT }}", "CLOUDNET_EMU_REF": "main",
                         "CLOUDNET_EMU_SCENARIOS": "scenarios/attach.yaml"}
    for job in wf["jobs"].values():
        paths = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
        assert "report.html" in paths["with"]["path"]


def gitlab_file(repo: Path, *argv) -> dict:
    assert init("--gitlab", *argv).exit_code == 0
    return yaml.safe_load((repo / ".gitlab-ci.yml").read_text())


@needs("check-jsonschema")
def test_gitlab_file_passes_gitlabs_schema(user_repo):
    gitlab_file(user_repo, *ARGS)
    proc = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", ".gitlab-ci.yml"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bad = (user_repo / ".gitlab-ci.yml").read_text().replace("when: always", "when: sometimes", 1)
    (user_repo / "bad.yml").write_text(bad)
    proc = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", "bad.yml"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "'sometimes' is not one of" in proc.stdout


def test_gitlab_file_structure(user_repo):
    ci = gitlab_file(user_repo, *ARGS)
    assert ci["variables"] == {"CLOUDNET_EMU_GIT": SOURCE, "CLOUDNET_EMU_REF": "main",
                               "CLOUDNET_EMU_SCENARIOS": "scenarios/attach.yaml scenarios/migrate.yaml"}
    jobs = {k: v for k, v in ci.items() if isinstance(v, dict) and "script" in v}
    assert sorted(jobs) == sorted(SHAPES)
    for name, job in jobs.items():
        assert job["stage"] in ci["stages"]
        assert job["extends"] in ci and job["extends"].startswith(".")       # a hidden template
        assert all(isinstance(line, str) for line in job["script"])
        assert f"ci-scenarios\" {'host' if name == 'runner-kernel' else 'vagrant'} {OUT}/{name} " in job["script"][1]
        art = job["artifacts"]
        assert art["when"] == "always"                                        # red runs keep their reports
        assert art["reports"]["junit"] == f"{OUT}/{name}/report.xml"
        assert art["paths"] == [f"{OUT}/{name}/{a}" for a in ARTIFACTS]
    assert "tags" not in jobs["runner-kernel"]
    assert jobs["vagrant-vm"]["tags"] == ["cloudnet-emu-vagrant"]
    assert jobs["vagrant-vm"]["rules"] == [{"if": '$CLOUDNET_EMU_VAGRANT == "1"'}]


@needs("shellcheck")
def test_gitlab_scripts_pass_shellcheck(user_repo):
    ci = gitlab_file(user_repo, *ARGS)
    for name in SHAPES:
        job = ci[name]
        script = "\n".join(ci[job["extends"]]["before_script"] + job["script"])
        proc = subprocess.run([tool("shellcheck"), "-s", "bash", "-"], input=script, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout


@needs("shellcheck")
def test_ci_scenarios_script_passes_shellcheck():
    proc = subprocess.run([tool("shellcheck"), str(REPO / "scripts" / "ci-scenarios")], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout
    assert os.access(REPO / "scripts" / "ci-scenarios", os.X_OK)


def test_the_scenarios_directory_is_the_default(user_repo):
    ci = gitlab_file(user_repo)
    assert ci["variables"]["CLOUDNET_EMU_SCENARIOS"] == "scenarios"


# --- refusals: one line or the located problems, exit 2, nothing written ------------------------

def refused(repo: Path, result, stderr: str):
    assert (result.exit_code, result.stderr, result.stdout) == (2, stderr, "")
    assert written(repo) == []


def test_unknown_flavour(user_repo):
    refused(user_repo, init("--circleci", "scenarios/attach.yaml"),
            "error: unknown CI flavour or option --circleci: --github (GitHub Actions) or --gitlab (GitLab CI); "
            "see `cloudnet-emu ci init --help`\n")


def test_two_flavours(user_repo):
    refused(user_repo, init("--github", "--gitlab", "scenarios/attach.yaml"),
            "error: --github and --gitlab: name one CI (one file per CI; run the command twice for both)\n")


def test_a_scenario_that_does_not_validate(user_repo):
    bad = user_repo / "scenarios" / "zz-bad.yaml"
    bad.write_text("name: bad\ntopology: ../topologies/cloudnet.yaml\nsteps:\n  - detach: {vm: b1}\n")
    refused(user_repo, init("--gitlab", "scenarios"),
            "scenarios/zz-bad.yaml:4:18: VM 'b1' is not attached by an earlier step (at steps.0.detach.vm)\n"
            "    hint: known VMs at this step: none; name VMs with attach: {name: ...}\n"
            "1 problem(s); nothing was written.\n")


def test_a_missing_scenario(user_repo):
    refused(user_repo, init("scenarios/nope.yaml"),
            "scenarios/nope.yaml: cannot read file: No such file or directory\n    hint: check the path\n"
            "1 problem(s); nothing was written.\n")


def test_a_scenario_outside_the_repository(user_repo, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "s.yaml"
    elsewhere.write_text(f"name: s\ntopology: {user_repo}/topologies/cloudnet.yaml\n"
                         "steps:\n  - check: {reach: {from: acme-h1, to: acme-h2}}\n")
    refused(user_repo, init(str(elsewhere)),
            f"{elsewhere}: scenario {elsewhere} is outside this directory\n"
            "    hint: run `cloudnet-emu ci init` from the root of the repository that holds the scenarios and "
            "their topologies\n1 problem(s); nothing was written.\n")


def test_a_path_the_shell_would_split(user_repo):
    shutil.copy(user_repo / "scenarios" / "attach.yaml", user_repo / "scenarios" / "my attach.yaml")
    refused(user_repo, init("scenarios/my attach.yaml"),
            "scenarios/my attach.yaml: the path 'scenarios/my attach.yaml' has characters a CI shell would split "
            "or expand\n    hint: rename it with letters, digits and . _ - + / only\n"
            "1 problem(s); nothing was written.\n")


def test_no_scenarios_named_and_none_here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    refused(tmp_path, init(), "error: name the scenario files (or directories) to run: no ./scenarios/ here\n")


def test_an_existing_file_is_kept_unless_forced(user_repo):
    target = user_repo / ".gitlab-ci.yml"
    target.write_text("# mine\n")
    result = init("--gitlab", "scenarios/attach.yaml")
    assert (result.exit_code, result.stderr) == (
        2, "error: .gitlab-ci.yml exists; nothing was written (--force overwrites it)\n")
    assert target.read_text() == "# mine\n"
    assert init("--gitlab", "--force", "scenarios/attach.yaml").exit_code == 0
    assert "cloudnet-emu ci init --gitlab scenarios/attach.yaml" in target.read_text()
