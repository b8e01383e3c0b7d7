from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import dagster as dg

from ..core.base.alerts import Finding, new_incidents, post, webhook_url
from ..core.base.config import load_config
from ..core.base.errors import VSOError
from ..lib.naming import Naming
from ..lib.run_failures import failure_reason

# Runs looked at per tick: a backlog is worked off over the next ticks.
RUNS_PER_TICK = 100
FINISHED = (dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE)
TOLD = {dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.ASSET_CHECK_EVALUATION,
        dg.DagsterEventType.RUN_FAILURE, dg.DagsterEventType.ENGINE_EVENT}


@dataclass
class Cursor:
    after: int  # the storage ID of the last run ending looked at
    open: list[str] = field(default_factory=list)  # the checks failing now, told already

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        return cls(**json.loads(text)) if text else None

    def dump(self) -> str:
        return json.dumps({"after": self.after, "open": self.open})


# Why: a failed run or check is seen only by whoever opens the UI, and a production slice can go
# down at night. This tells a chat webhook ([alerts] webhook_url, or $VSO_ALERT_WEBHOOK_URL to keep a
# Slack URL out of git) when one of VSO's runs fails, or a check fails on a slice: the health
# sensor's check run makes an unhealthy production slice one of those.
# Guards: once per incident (a check failing again before it passes says nothing; a failed run's
# own red checks are in its one message), and once when it is over (the check passes again); it
# starts watching from the moment it first ticks, so turning it on does not replay history; a
# webhook that does not take a message leaves the cursor where it was, and the next tick tries
# again; messages go through the secrets mask and never carry the webhook's URL. On by default:
# it starts nothing and posts only where a webhook is configured.
def alerts_sensor(names: Naming, interval_s: int) -> dg.SensorDefinition:
    @dg.sensor(name=names.name("alerts"), minimum_interval_seconds=interval_s,
               default_status=dg.DefaultSensorStatus.RUNNING, required_resource_keys={names.resource},
               description=f"Every {interval_s} s ([alerts] interval_seconds): a failed VSO run, or a check that "
                           "starts failing on a slice (an unhealthy production slice among them) and when it passes "
                           "again, posted once to "
                           "the chat webhook in [alerts] webhook_url or $VSO_ALERT_WEBHOOK_URL. Starts no runs and "
                           "costs no money. On by default; it posts nothing until a webhook is configured.")
    def alerts(context: dg.SensorEvaluationContext):
        project = names.project_resource(context).project()
        try:
            url = webhook_url(load_config(project).alerts.webhook_url)
        except VSOError as error:
            return dg.SkipReason(str(error))
        cursor = Cursor.parse(context.cursor)
        if cursor is None:
            context.update_cursor(Cursor(_latest_ending(context.instance)).dump())
            return dg.SkipReason("watching runs that end from now on")
        told = 0
        for storage_id, findings in _endings(context.instance, names, cursor.after, project.root.name):
            tell, still_open = new_incidents(cursor.open, findings)
            for finding in tell:
                if not url:
                    break
                if error := post(url, finding.text):
                    context.update_cursor(cursor.dump())
                    return dg.SkipReason(f"{error}; the next tick tries again")
                told += 1
            cursor = Cursor(storage_id, still_open)
        context.update_cursor(cursor.dump())
        if not url:
            return dg.SkipReason("no webhook: set [alerts] webhook_url or $VSO_ALERT_WEBHOOK_URL")
        return dg.SkipReason(f"{told} alerts posted" if told else "nothing new has failed")

    return alerts


def _latest_ending(instance: dg.DagsterInstance) -> int:
    latest = [instance.fetch_run_status_changes(kind, limit=1).records for kind in FINISHED]
    return max((records[0].storage_id for records in latest if records), default=0)


def _endings(instance: dg.DagsterInstance, names: Naming, after: int,
             project_name: str) -> Iterator[tuple[int, list[Finding]]]:
    """Each run that ended after `after`, oldest first: its storage ID and what it showed."""
    records = sorted((record for kind in FINISHED for record in instance.fetch_run_status_changes(
        dg.RunStatusChangeRecordsFilter(kind, after_storage_id=after), limit=RUNS_PER_TICK, ascending=True).records),
        key=lambda record: record.storage_id)[:RUNS_PER_TICK]
    for record in records:
        run = instance.get_run_by_id(record.event_log_entry.run_id)
        yield record.storage_id, (_findings(instance, run, project_name) if run and names.owns_run(run) else [])


def _findings(instance: dg.DagsterInstance, run: dg.DagsterRun, project_name: str) -> list[Finding]:
    events = [entry.dagster_event for entry in instance.all_logs(run.run_id, of_type=TOLD) if entry.dagster_event]
    failed = run.status == dg.DagsterRunStatus.FAILURE
    where = run.tags.get("dagster/partition") or "the project"
    findings = []
    for event in events:
        if event.event_type_value != dg.DagsterEventType.ASSET_CHECK_EVALUATION.value:
            continue
        check = event.event_specific_data
        if check.severity == dg.AssetCheckSeverity.WARN:
            continue  # a warning (a check with nothing to look at) is no incident
        said = f"{project_name}: check {check.check_name} of {check.asset_key.to_user_string()} " \
               f"{'passes again' if check.passed else 'failed'} for {check.partition or 'the project'}: " \
               f"{check.description or 'no description'}"
        # A failed run's red check is told in the run's own message, and opens its incident silently.
        findings.append(Finding(f"check:{check.asset_key.to_user_string()}:{check.check_name}:{check.partition}",
                                not check.passed, "" if failed and not check.passed else said))
    if failed:
        reason, _ = failure_reason(run.run_id, events)
        findings.append(Finding(f"run:{run.run_id}", True,
                                f"{project_name}: {run.job_name} failed for {where} (run {run.run_id[:8]}): {reason}"))
    return findings
