"""Retention: what the configured rules (``config.retention``) would do to a space, and
doing it.  Applied by the durable ``retention`` job, which reschedules itself every
``interval_hours``; each batch is one transaction with a history entry per memory, so
a crash leaves every memory either done or due, and the next run finishes the rest."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from ..config import RetentionRule
from ..records import history_entry
from ..store.base import Store

BATCH = 200
SAMPLE = 20


class RuleOutcome(BaseModel):
    rule: str
    action: str
    memories: int  # due (dry run) or done
    sample: list[dict[str, str]] = Field(default_factory=list)  # a few of them: id, kind, text


class RetentionReport(BaseModel):
    space: str
    dry_run: bool
    at: datetime
    rules: list[RuleOutcome]
    job_id: str | None = None  # the job that applies them (not a dry run)


def _due(store: Store, space: str, rule: RetentionRule, now: datetime, limit: int) -> list[str]:
    by = "valid_to" if rule.since == "valid_to" else "observed"
    return store.lifecycle_due(space, kinds=rule.kinds, before=now - timedelta(days=rule.after_days), by=by,
                               cell_extracted=rule.since == "extracted", limit=limit)


def plan(store: Store, space: str, rules: list[RetentionRule], now: datetime, *,
         most: int = 100_000) -> list[RuleOutcome]:
    """What each rule would do now (counted up to ``most``), with a sample."""
    out = []
    for rule in rules:
        ids = _due(store, space, rule, now, most)
        sample = [{"id": m.id, "kind": m.kind, "text": m.text[:100]}
                  for m in store.get_memories(space, ids[:SAMPLE])]
        out.append(RuleOutcome(rule=rule.describe(), action=rule.action, memories=len(ids), sample=sample))
    return out


def apply(store: Store, space: str, rules: list[RetentionRule], now: datetime,
          actor: str = "retention") -> list[RuleOutcome]:
    """Apply every rule, a batch per transaction, until none has anything due."""
    out = []
    for rule in rules:
        done = 0
        while ids := _due(store, space, rule, now, BATCH):
            with store.transaction():
                if rule.action == "delete":
                    done += store.delete_memories(space, ids)
                    continue
                status = "archived" if rule.action == "archive" else "expired"
                for rec in store.get_memories(space, ids):
                    store.update_memory(space, rec.id, {"status": status})
                    store.add_history(space, [history_entry(rec.id, rule.action, actor, {"status": rec.status},
                                                            {"status": status, "rule": rule.describe()})])
                    done += 1
        out.append(RuleOutcome(rule=rule.describe(), action=rule.action, memories=done))
    return out
