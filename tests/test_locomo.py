"""The core issue's acceptance check on real data: LoCoMo conv-26 ingested through the
CLI with its real session dates; the question about the support group cites evidence
turn D1:3 with the date resolved from "yesterday".  Reads ../shared/data (never copied)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from engramos.cli import cli
from tests.conftest import LOCOMO

pytestmark = pytest.mark.skipif(not LOCOMO.exists(), reason="LoCoMo is not beside this checkout (../shared/data)")


def test_locomo_conv26_support_group_question(tmp_path, monkeypatch):
    sample = json.loads(LOCOMO.read_text())[0]
    assert sample["sample_id"] == "conv-26"
    path = tmp_path / "conv26.json"
    path.write_text(json.dumps([sample]))  # a temporary copy of one conversation, deleted with tmp_path
    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    out = runner.invoke(cli, ["--json", "ingest", str(path)], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output)
    assert summary["inserted"] == sum(len(v) for k, v in sample["conversation"].items()
                                      if k.startswith("session_") and isinstance(v, list))
    assert summary["jobs"]["pending"] == 0 and summary["jobs"]["parked"] == 0
    res = runner.invoke(cli, ["--json", "search", "When did Caroline go to the LGBTQ support group?",
                              "--conversation", "conv-26", "-k", "5"], catch_exceptions=False)
    hits = json.loads(res.output)["hits"]
    cited = [c["external_id"] for h in hits for c in h["citations"]]
    assert "D1:3" in cited
    top = next(h for h in hits if any(c["external_id"] == "D1:3" for c in h["citations"]))
    assert "7 May 2023" in top["memory"]["text"]
    assert top["memory"]["observed_at"].startswith("2023-05-08")
